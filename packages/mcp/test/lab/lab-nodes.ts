// The real programs in the NAT lab for the MCP end-to-end test: the rendezvous (registry, beacon and a
// second reflector port) in `pub`, a daemon behind each router with its own PILOT_HOME and IPC socket,
// and pilotctl run inside a daemon's namespace with that daemon's PILOT_SOCKET / PILOT_HOME.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  DAEMON_MAIN,
  LAB_REGISTRY,
  type LabPeer,
  type LabProcess,
  type NatLab,
  PILOTCTL_MAIN,
  RENDEZVOUS_MAIN,
  startLabDaemon,
  startLabRendezvous,
} from '@pilot/testkit/natlab';

export const PILOTCTL: string = PILOTCTL_MAIN;

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

export const startRendezvous: typeof startLabRendezvous = startLabRendezvous;

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
  const { process, home, socket, nodeId, address } = await startLabDaemon(lab, peer, dir, name);
  return {
    name,
    peer,
    process,
    nodeId,
    address,
    env: { PILOT_SOCKET: socket, PILOT_HOME: home, PILOT_REGISTRY: LAB_REGISTRY },
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
