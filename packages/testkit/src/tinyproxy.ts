// A real HTTP CONNECT proxy for tests (Debian's tinyproxy, installed by .ci/run): the TLS relay's
// `--proxy` path is proven through it, in the root namespace or inside a NAT lab namespace.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { onPath } from './natlab/availability.js';
import { LabProcess } from './natlab/lab-process.js';

export interface TinyproxyOptions {
  /** Address it listens on. */
  readonly listen: string;
  readonly port: number;
  /** Client addresses or CIDRs allowed to use it. */
  readonly allow: readonly string[];
  /** The only ports CONNECT may reach (tinyproxy's ConnectPort). */
  readonly connectPorts: readonly number[];
  /** Basic credentials it requires. */
  readonly auth?: { readonly user: string; readonly password: string } | undefined;
}

/** Why tinyproxy cannot run here, or undefined. */
export function tinyproxyUnavailable(): string | undefined {
  return onPath('tinyproxy') ? undefined : 'tinyproxy is not installed (apt-get install tinyproxy)';
}

/** Writes a tinyproxy configuration into `dir` and returns its path. */
export function writeTinyproxyConfig(dir: string, options: TinyproxyOptions): string {
  const lines = [
    `Port ${options.port}`,
    `Listen ${options.listen}`,
    'Timeout 600',
    'MaxClients 64',
    'LogLevel Info',
    ...options.allow.map((allow) => `Allow ${allow}`),
    ...options.connectPorts.map((port) => `ConnectPort ${port}`),
    ...(options.auth === undefined ? [] : [`BasicAuth ${options.auth.user} ${options.auth.password}`]),
  ];
  const file = join(dir, `tinyproxy-${options.port}.conf`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** A free TCP port on 127.0.0.1 (tinyproxy cannot be told to pick one). */
export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Waits for a tinyproxy started with `-d` (logging to stdout) to accept connections. */
export async function tinyproxyReady(proc: LabProcess, ms = 10_000): Promise<void> {
  await proc.waitFor((line) => String(line.line ?? '').includes('Accepting connections'), ms, 'tinyproxy');
}

/** Starts tinyproxy in this namespace; `kill()` the returned process when done. */
export async function startTinyproxy(dir: string, options: TinyproxyOptions): Promise<LabProcess> {
  const config = writeTinyproxyConfig(dir, options);
  const proc = new LabProcess(spawn('tinyproxy', ['-d', '-c', config], { stdio: ['pipe', 'pipe', 'pipe'] }));
  try {
    await tinyproxyReady(proc);
  } catch (error) {
    await proc.kill();
    throw error;
  }
  return proc;
}
