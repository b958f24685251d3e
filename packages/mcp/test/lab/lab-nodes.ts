// The real programs in the NAT lab for the MCP end-to-end test: the rendezvous (registry, beacon and a
// second reflector port) in `pub`, a daemon behind each router with its own PILOT_HOME and IPC socket,
// and pilotctl run inside a daemon's namespace with that daemon's PILOT_SOCKET / PILOT_HOME.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  LAB_PUBLIC_IP,
  type LabLine,
  type LabPeer,
  type LabProcess,
  type NatLab,
} from '@pilot/testkit/natlab';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const RENDEZVOUS_MAIN: string = join(ROOT, 'apps/rendezvous/dist/main.js');
export const DAEMON_MAIN: string = join(ROOT, 'apps/daemon/dist/main.js');
export const PILOTCTL: string = join(ROOT, 'packages/cli/dist/bin.js');

export const REGISTRY: string = `${LAB_PUBLIC_IP}:9000`;
const BEACON = `${LAB_PUBLIC_IP}:9001`;
const STUN = `${LAB_PUBLIC_IP}:9002`;

/** Why the programs cannot run (a dist not built), or undefined. */
export function programsMissing(): string | undefined {
  const missing = [RENDEZVOUS_MAIN, DAEMON_MAIN, PILOTCTL].filter((main) => !existsSync(main));
  return missing.length === 0 ? undefined : `not built: ${missing.join(', ')}`;
}

/** `ip`, where the lab kit finds it (sbin is not always on PATH). */
export function ipBinary(): string {
  for (const dir of ['/usr/sbin', '/sbin', '/usr/bin', '/bin']) {
    const path = join(dir, 'ip');
    if (existsSync(path)) return path;
  }
  return 'ip';
}

export async function startRendezvous(lab: NatLab, dir: string): Promise<LabProcess> {
  const rendezvous = lab.node('pub', RENDEZVOUS_MAIN, [
    '--registry-addr',
    REGISTRY,
    '--beacon-addr',
    BEACON,
    '--stun-addr',
    STUN,
    '--store',
    join(dir, 'registry.db'),
    '--log-format',
    'json',
  ]);
  await rendezvous.waitFor((line) => typeof line.registry === 'string', 20_000, 'the rendezvous');
  return rendezvous;
}

export interface LabDaemon {
  readonly name: string;
  readonly peer: LabPeer;
  readonly process: LabProcess;
  readonly nodeId: number;
  readonly address: string;
  /** PILOT_SOCKET and PILOT_HOME for pilotctl (and PILOT_REGISTRY for `peers --search`). */
  readonly env: Readonly<Record<string, string>>;
}

export async function startDaemon(lab: NatLab, peer: LabPeer, dir: string, name: string): Promise<LabDaemon> {
  const home = join(dir, name);
  const socket = join(dir, `${name}.sock`);
  const process = lab.node(
    peer,
    DAEMON_MAIN,
    [
      '--registry',
      REGISTRY,
      '--beacon',
      BEACON,
      '--reflector',
      STUN,
      '--socket',
      socket,
      '--hostname',
      name,
      '--handshake-poll',
      '300ms',
      '--log-level',
      'info',
    ],
    { env: { PILOT_HOME: home } },
  );
  let ready: LabLine;
  try {
    ready = await process.waitFor((line) => line.status !== undefined, 30_000, `${name} ready`);
  } catch (error) {
    throw new Error(`${name} did not start: ${String(error)}\n${process.stderr.slice(-3000)}`);
  }
  if (ready.status !== 'ready') throw new Error(`${name} failed: ${JSON.stringify(ready)}`);
  return {
    name,
    peer,
    process,
    nodeId: Number(ready.node_id),
    address: String(ready.address),
    env: { PILOT_SOCKET: socket, PILOT_HOME: home, PILOT_REGISTRY: REGISTRY },
  };
}

/** Stops a daemon with SIGTERM (it deregisters and exits), SIGKILL after 8 s. */
export async function stopProcess(proc: LabProcess): Promise<void> {
  if (!proc.running) return;
  proc.signal('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const exited = await Promise.race([
    proc.exited,
    new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), 8000);
    }),
  ]).finally(() => clearTimeout(timer));
  if (exited === undefined) await proc.kill();
}

export interface PilotctlResult {
  readonly code: number | null;
  readonly data: Record<string, unknown>;
  readonly stderr: string;
}

/** One `pilotctl --json …` inside the daemon's namespace; resolves with its exit and JSON data. */
export async function pilotctl(
  lab: NatLab,
  daemon: LabDaemon,
  args: readonly string[],
  ms = 60_000,
): Promise<PilotctlResult> {
  const proc = lab.node(daemon.peer, PILOTCTL, ['--json', ...args], { env: { ...daemon.env } });
  let timer: NodeJS.Timeout | undefined;
  const exit = await Promise.race([
    proc.exited,
    new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms);
    }),
  ]).finally(() => clearTimeout(timer));
  if (exit === undefined) {
    await proc.kill();
    throw new Error(`pilotctl ${args.join(' ')} took over ${ms} ms`);
  }
  const envelope = proc.lines.find((line) => line.data !== undefined);
  return {
    code: exit.code,
    data: (envelope?.data as Record<string, unknown> | undefined) ?? {},
    stderr: proc.stderr,
  };
}

/** `pilotctl` that must succeed: its data. */
export async function pilotctlOk(
  lab: NatLab,
  daemon: LabDaemon,
  args: readonly string[],
): Promise<Record<string, unknown>> {
  const result = await pilotctl(lab, daemon, args);
  if (result.code !== 0)
    throw new Error(`pilotctl ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result.data;
}

export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  ms: number,
  what: string,
  everyMs = 300,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
