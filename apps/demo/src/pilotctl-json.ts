import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** The pilotctl users run: the CLI's bundled executable. */
export const PILOTCTL: string = join(ROOT, 'packages', 'cli', 'dist', 'pilotctl.cjs');

/** pilotctl's `--json` envelope. */
export type Envelope =
  | { readonly status: 'ok'; readonly data: Record<string, unknown> }
  | { readonly status: 'error'; readonly code: string; readonly message: string };

/**
 * Runs `pilotctl --json …` with `env` over this process's environment (PILOT_HOME, PILOT_SOCKET…)
 * and returns its envelope: the last JSON line of stdout, or of stderr where errors go.
 */
export function pilotctlJson(
  env: Readonly<Record<string, string>>,
  args: readonly string[],
): Promise<Envelope> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [PILOTCTL, '--json', ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      err += chunk;
    });
    child.on('error', fail);
    child.on('close', () => {
      const text = (out.trim() || err.trim()).split('\n').pop() ?? '';
      try {
        done(JSON.parse(text) as Envelope);
      } catch {
        fail(new Error(`pilotctl ${args.join(' ')} printed no JSON envelope: ${out}${err}`));
      }
    });
  });
}
