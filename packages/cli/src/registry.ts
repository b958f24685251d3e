import { DirectoryClient } from '@pilot/directory';
import { isPilotError } from '@pilot/wire';
import type { Context } from './context.js';
import { cliError } from './errors.js';

function splitHostPort(text: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text.trim());
  if (match === null) return undefined;
  const port = Number(match[3]);
  if (port > 65_535) return undefined;
  const host = match[1] ?? match[2] ?? '';
  return { host: host === '' ? '127.0.0.1' : host, port };
}

/**
 * Where the registry is: `--registry`, else what the running daemon uses (Info `registry`), else
 * config.json, else $PILOT_REGISTRY.
 */
export async function registryAddress(context: Context, flag?: string): Promise<string> {
  if (flag !== undefined) return flag;
  try {
    const info = await context.info();
    if (typeof info.registry === 'string' && info.registry !== '') return info.registry;
  } catch (error) {
    if (!isPilotError(error) || !error.code.startsWith('DRIVER_')) throw error;
  }
  const fromConfig = context.config.registry;
  if (typeof fromConfig === 'string' && fromConfig !== '') return fromConfig;
  const fromEnv = context.io.env.PILOT_REGISTRY;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  throw cliError(
    'invalid_argument',
    'no registry address: no daemon runs and the config names none',
    'pass --registry host:port, or run "pilotctl init --registry host:port"',
  );
}

/** A registry client (the caller closes it). */
export async function registryClient(context: Context, flag?: string): Promise<DirectoryClient> {
  const address = await registryAddress(context, flag);
  const parts = splitHostPort(address);
  if (parts === undefined)
    throw cliError('invalid_argument', `registry address must be host:port, not "${address}"`);
  try {
    return await DirectoryClient.connect({ ...parts, requestTimeoutMs: 10_000, reconnectAttempts: 1 });
  } catch (error) {
    throw cliError(
      'unavailable',
      `cannot reach the registry at ${address}: ${(error as Error).message}`,
      'check that pilot-rendezvous runs there',
    );
  }
}
