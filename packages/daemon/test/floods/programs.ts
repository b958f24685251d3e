// The real programs of the flood suite: pilot-rendezvous, pilot-daemon (victims) and the attacker
// scripts of this directory, each a child process whose JSON stdout lines the test waits for.
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { DAEMON_MAIN, RENDEZVOUS_MAIN } from '@pilot/testkit/natlab';

export type Line = Record<string, unknown>;

export interface Program {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  readonly lines: Line[];
  stderr(): string;
  next(match: (line: Line) => boolean, timeoutMs?: number): Promise<Line>;
  /** Ends it (SIGTERM, then SIGKILL after 3 s) and waits for the exit. */
  stop(): Promise<void>;
}

export function program(args: readonly string[]): Program {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Line[] = [];
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    for (let newline = out.indexOf('\n'); newline >= 0; newline = out.indexOf('\n')) {
      const line = out.slice(0, newline).trim();
      out = out.slice(newline + 1);
      if (line.startsWith('{')) lines.push(JSON.parse(line) as Line);
    }
    for (const wake of waiters) wake();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    err = (err + chunk).slice(-20_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    lines,
    stderr: () => err,
    async next(match, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = lines.find(match);
        if (found !== undefined) return found;
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error(`${args[0]}: no matching line (exit ${child.exitCode}; stderr: ${err})`);
        await new Promise<void>((wake) => {
          const timer = setTimeout(done, 200);
          function done(): void {
            clearTimeout(timer);
            waiters.delete(done);
            wake();
          }
          waiters.add(done);
        });
      }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** pilot-rendezvous on loopback (registry, beacon), its store under `dir`. */
export async function startRendezvous(
  dir: string,
  extra: readonly string[] = [],
): Promise<{ program: Program; registry: string; beacon: string }> {
  const rv = program([
    // Another build's, with that build's daemon (PILOT_FLOOD_DAEMON_MAIN), for a "before" figure.
    process.env.PILOT_FLOOD_RENDEZVOUS_MAIN ?? RENDEZVOUS_MAIN,
    '--registry-addr',
    '127.0.0.1:0',
    '--beacon-addr',
    '127.0.0.1:0',
    '--store',
    join(dir, 'rendezvous.db'),
    '--log-format',
    'json',
    ...extra,
  ]);
  const announce = await rv.next((line) => typeof line.registry === 'string');
  return { program: rv, registry: String(announce.registry), beacon: String(announce.beacon) };
}

/**
 * pilot-daemon (apps/daemon/dist/main.js, or `PILOT_FLOOD_DAEMON_MAIN`: another build's, for a
 * "before" figure) with its home and socket under `dir`; resolves at its ready line.
 */
export async function startDaemonProgram(
  dir: string,
  name: string,
  args: readonly string[],
): Promise<{ program: Program; nodeId: number; socket: string; pid: number }> {
  const main = process.env.PILOT_FLOOD_DAEMON_MAIN ?? DAEMON_MAIN;
  const extra = (process.env.PILOT_FLOOD_DAEMON_ARGS ?? '').split(' ').filter((a) => a !== '');
  const daemon = program([
    main,
    '--listen',
    '127.0.0.1:0',
    '--socket',
    join(dir, `${name}.sock`),
    '--home',
    join(dir, name),
    '--hostname',
    name,
    '--log-format',
    'json',
    '--log-level',
    'warn',
    ...args,
    ...extra,
  ]);
  const ready = await daemon.next((line) => line.status === 'ready', 30_000);
  return {
    program: daemon,
    nodeId: Number(ready.node_id),
    socket: String(ready.socket),
    pid: Number(ready.pid),
  };
}

/** Resident set of a process, in bytes (Linux /proc). */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return kb === undefined ? 0 : Number(kb) * 1024;
}
