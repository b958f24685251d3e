// The repository's own programs in the NAT lab: the rendezvous (registry, beacon and a second
// reflector port) in `pub`, and daemons behind the routers, each with its own PILOT_HOME and IPC
// socket. The testkit does not import them (it sits below every package): it runs their built
// `dist/` entry points by path, so `pnpm run build` (turbo orders it) must have run first.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LAB_PUBLIC_IP, type LabNamespace } from './addresses.js';
import type { NatLab } from './lab.js';
import type { LabLine, LabProcess } from './lab-process.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const RENDEZVOUS_MAIN: string = join(ROOT, 'apps/rendezvous/dist/main.js');
export const DAEMON_MAIN: string = join(ROOT, 'apps/daemon/dist/main.js');
export const PILOTCTL_MAIN: string = join(ROOT, 'packages/cli/dist/bin.js');

export const LAB_REGISTRY: string = `${LAB_PUBLIC_IP}:9000`;
export const LAB_BEACON: string = `${LAB_PUBLIC_IP}:9001`;
/**
 * The rendezvous's second reflector (its default `--stun-addr`, the beacon's port + 1): the registry
 * advertises it and the daemons classify their NAT against it without flags.
 */
export const LAB_STUN: string = `${LAB_PUBLIC_IP}:9002`;

/** Starts `pilot-rendezvous` in `pub` with its store under `dir` (and `extra` flags), once it announces itself. */
export async function startLabRendezvous(
  lab: NatLab,
  dir: string,
  extra: readonly string[] = [],
  main: string = RENDEZVOUS_MAIN,
): Promise<LabProcess> {
  const rendezvous = lab.node('pub', main, [
    '--registry-addr',
    LAB_REGISTRY,
    '--beacon-addr',
    LAB_BEACON,
    '--store',
    join(dir, 'registry.db'),
    '--log-format',
    'json',
    ...extra,
  ]);
  await rendezvous.waitFor((line) => typeof line.registry === 'string', 20_000, 'the rendezvous');
  return rendezvous;
}

export interface LabDaemonOptions {
  /**
   * Name the rendezvous's second reflector with `--reflector` (default false: the daemon learns it
   * from the registry, as with default flags).
   */
  readonly reflector?: boolean;
  /** More daemon flags. */
  readonly extra?: readonly string[];
  /** The daemon program (default this checkout's `apps/daemon/dist/main.js`; benches compare another build). */
  readonly main?: string;
}

export interface LabDaemonProcess {
  readonly process: LabProcess;
  readonly home: string;
  readonly socket: string;
  readonly nodeId: number;
  readonly address: string;
}

/**
 * Starts `pilot-daemon` as `name` behind `peer`'s router (or in `pub`, beside the rendezvous) (PILOT_HOME `<dir>/<name>`, socket
 * `<dir>/<name>.sock`), registered with the lab's rendezvous, and waits for its ready line.
 */
export async function startLabDaemon(
  lab: NatLab,
  peer: LabNamespace,
  dir: string,
  name: string,
  options: LabDaemonOptions = {},
): Promise<LabDaemonProcess> {
  const home = join(dir, name);
  const socket = join(dir, `${name}.sock`);
  const process = lab.node(
    peer,
    options.main ?? DAEMON_MAIN,
    [
      '--registry',
      LAB_REGISTRY,
      '--beacon',
      LAB_BEACON,
      ...(options.reflector === true ? ['--reflector', LAB_STUN] : []),
      '--socket',
      socket,
      '--hostname',
      name,
      '--handshake-poll',
      '300ms',
      '--log-level',
      'info',
      ...(options.extra ?? []),
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
  return { process, home, socket, nodeId: Number(ready.node_id), address: String(ready.address) };
}
