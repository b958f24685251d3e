// The built program as users run it (`pnpm run build` first), started by the integration tests.
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

export const MAIN: string = fileURLToPath(new URL('../dist/main.js', import.meta.url));

export type Program = ChildProcessByStdio<null, Readable, Readable>;

export type Started = {
  child: Program;
  announce: Record<string, string | boolean>;
  stderr: () => string;
};

/**
 * Starts the program and waits for its startup line (JSON format, for the test to read). The child
 * goes into `children`, which the test kills after each case.
 */
export function startProgram(args: string[], children: Program[]): Promise<Started> {
  const child = spawn(process.execPath, [MAIN, '--log-format', 'json', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const newline = out.indexOf('\n');
      if (newline >= 0) resolve({ child, announce: JSON.parse(out.slice(0, newline)), stderr: () => err });
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code} before starting: ${err}`)));
  });
}

export function exited(child: Program): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Kills what a case left running. */
export function killAll(children: Program[]): void {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}
