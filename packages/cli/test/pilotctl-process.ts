import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built pilotctl (run `pnpm --filter @pilot/cli build` first). */
export const PILOTCTL_BIN: string = fileURLToPath(new URL('../dist/pilotctl.cjs', import.meta.url));

export interface ProcessRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly data: Record<string, unknown>;
  readonly error: { code: string; message: string; hint?: string } | undefined;
}

function parse(text: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** A running pilotctl; `done` settles with its output when it exits. */
export interface RunningPilotctl {
  readonly child: ChildProcess;
  readonly done: Promise<ProcessRun>;
}

/** Starts the real pilotctl binary in its own process (`--json` is added). */
export function startPilotctl(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 120_000,
): RunningPilotctl {
  const { NODE_CHANNEL_FD: _fd, NODE_CHANNEL_SERIALIZATION_MODE: _mode, ...inherited } = process.env;
  const child = spawn(process.execPath, [PILOTCTL_BIN, '--json', ...args], {
    env: { ...inherited, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
  const done = new Promise<ProcessRun>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (status) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString();
      const stderr = Buffer.concat(err).toString();
      const envelope = parse(stdout);
      const failure = parse(stderr) as ProcessRun['error'];
      resolve({
        status,
        stdout,
        stderr,
        data: (envelope?.data as Record<string, unknown> | undefined) ?? {},
        error: failure,
      });
    });
  });
  return { child, done };
}

/** pilotctl with its stdio as pipes (no --json), for commands that speak over stdin/stdout. */
export function spawnPilotctl(args: readonly string[], env: NodeJS.ProcessEnv): ChildProcess {
  const { NODE_CHANNEL_FD: _fd, NODE_CHANNEL_SERIALIZATION_MODE: _mode, ...inherited } = process.env;
  return spawn(process.execPath, [PILOTCTL_BIN, ...args], {
    env: { ...inherited, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** The lines a child writes to stdout. */
export async function* readLines(child: ChildProcess): AsyncGenerator<string> {
  let buffered = '';
  if (child.stdout === null) return;
  for await (const chunk of child.stdout) {
    buffered += String(chunk);
    let newline = buffered.indexOf('\n');
    while (newline >= 0) {
      yield buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf('\n');
    }
  }
}

/** Runs the real pilotctl binary to completion. */
export function pilotctl(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs?: number,
): Promise<ProcessRun> {
  return startPilotctl(args, env, timeoutMs).done;
}

/** Runs pilotctl and fails the test with its stderr unless it succeeded. */
export async function ok(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs?: number,
): Promise<Record<string, unknown>> {
  const run = await pilotctl(args, env, timeoutMs);
  if (run.status !== 0)
    throw new Error(`pilotctl ${args.join(' ')} exited ${run.status}: ${run.stderr}${run.stdout}`);
  return run.data;
}
