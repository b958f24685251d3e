import { PassThrough, Readable } from 'node:stream';
import { runCli } from '../src/index.js';

export interface CliRun {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed as JSON (the --json envelope), when it is JSON. */
  readonly json: { status: string; data: Record<string, unknown> } | undefined;
  /** stderr parsed as JSON (the --json error), when it is JSON. */
  readonly error: { status: string; code: string; message: string; hint?: string } | undefined;
}

function parse<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

/** pilotctl in this process, with captured output (fast; the e2e tests run the real binary). */
export async function runInProcess(argv: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const status = await runCli(argv, {
    stdin: Readable.from([]),
    stdout,
    stderr,
    env,
    stderrIsTty: false,
    signal: new AbortController().signal,
  });
  const stdoutText = Buffer.concat(out).toString();
  const stderrText = Buffer.concat(err).toString();
  return {
    status,
    stdout: stdoutText,
    stderr: stderrText,
    json: parse(stdoutText),
    error: parse(stderrText),
  };
}
