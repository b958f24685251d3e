import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { cliError } from './errors.js';

/** pilotctl's keys in `<PILOT_HOME>/config.json` (reference §9.2); other keys are kept as they are. */
export const CONFIG_KEYS = [
  'registry',
  'beacon',
  'socket',
  'hostname',
  'webhook',
  'owner',
  'public',
] as const;

export type PilotConfig = Record<string, unknown>;

/** `$PILOT_HOME`, else ~/.pilot. */
export function pilotHome(env: NodeJS.ProcessEnv): string {
  const fromEnv = env.PILOT_HOME;
  return resolve(fromEnv !== undefined && fromEnv !== '' ? fromEnv : join(homedir(), '.pilot'));
}

export function configPath(home: string): string {
  return join(home, 'config.json');
}

/** The config, or {} when there is none; a file that is not a JSON object is an io_error. */
export function readConfig(home: string): PilotConfig {
  const path = configPath(home);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw cliError('io_error', `cannot read ${path}: ${(error as Error).message}`);
  }
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
    return value as PilotConfig;
  } catch (error) {
    throw cliError(
      'io_error',
      `${path} is not a JSON object: ${(error as Error).message}`,
      'fix or delete the file, then run "pilotctl init"',
    );
  }
}

/** Writes the config atomically, the home directory owner-only. */
export function writeConfig(home: string, config: PilotConfig): string {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const path = configPath(home);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, path);
  return path;
}

/** `value` as config.json stores it: booleans and numbers from their text, else the text. */
export function configValue(text: string): unknown {
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (/^-?\d+$/.test(text)) return Number(text);
  return text;
}
