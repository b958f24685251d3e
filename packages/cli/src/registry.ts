import { join } from 'node:path';
import type { DirectoryClient } from '@pilot/directory/client';
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

/** How to protect the registry link: from the running daemon when it uses the same registry, else the environment. */
type LinkSettings = { readonly tls?: boolean; readonly fingerprint?: string };

/**
 * Where the registry is: `--registry`, else what the running daemon uses (Info `registry_active`), else
 * config.json, else $PILOT_REGISTRY.
 */
export async function registryAddress(context: Context, flag?: string): Promise<string> {
  return (await registryTarget(context, flag)).address;
}

async function registryTarget(
  context: Context,
  flag?: string,
): Promise<{ address: string; daemon?: LinkSettings }> {
  let daemon: { address: string; link: LinkSettings } | undefined;
  try {
    const info = await context.info();
    // A daemon started with `--registry a,b` reports the list in `registry` and the one it is on
    // now in `registry_active`: a single address is what a registry client can dial.
    const active =
      typeof info.registry_active === 'string' && info.registry_active !== ''
        ? info.registry_active
        : typeof info.registry === 'string'
          ? (info.registry.split(',')[0] ?? '').trim()
          : '';
    if (active !== '') {
      // The daemon's link settings: a TLS link it pinned stays TLS and pinned for us too.
      const fingerprint = typeof info.registry_fingerprint === 'string' ? info.registry_fingerprint : '';
      daemon = {
        address: active,
        link:
          info.registry_tls === true
            ? { tls: true, ...(fingerprint === '' ? {} : { fingerprint }) }
            : info.registry_tls === false
              ? { tls: false }
              : {},
      };
    }
  } catch (error) {
    if (!isPilotError(error) || !error.code.startsWith('DRIVER_')) throw error;
  }
  if (flag !== undefined)
    return flag === daemon?.address ? { address: flag, daemon: daemon.link } : { address: flag };
  if (daemon !== undefined) return { address: daemon.address, daemon: daemon.link };
  const fromConfig = context.config.registry;
  if (typeof fromConfig === 'string' && fromConfig !== '') return { address: fromConfig };
  const fromEnv = context.io.env.PILOT_REGISTRY;
  if (fromEnv !== undefined && fromEnv !== '') return { address: fromEnv };
  throw cliError(
    'invalid_argument',
    'no registry address: no daemon runs and the config names none',
    'pass --registry host:port, or run "pilotctl init --registry host:port"',
  );
}

function envTls(env: NodeJS.ProcessEnv): boolean | undefined {
  const value = env.PILOT_REGISTRY_TLS?.toLowerCase();
  if (value === undefined || value === '') return undefined;
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  throw cliError('invalid_argument', `PILOT_REGISTRY_TLS must be true or false, not "${value}"`);
}

/**
 * A registry client (the caller closes it). The link is TLS as the daemon's is (same pin), else as
 * $PILOT_REGISTRY_TLS / $PILOT_REGISTRY_FINGERPRINT say, else TLS when the registry offers it; a
 * certificate is trusted on first use and remembered in <home>/known_registries.json, which the
 * daemon shares.
 */
export async function registryClient(
  context: Context,
  flag?: string,
  given: { readonly tls?: boolean; readonly fingerprint?: string } = {},
): Promise<DirectoryClient> {
  const target = await registryTarget(context, flag);
  const address = target.address;
  const parts = splitHostPort(address);
  if (parts === undefined)
    throw cliError('invalid_argument', `registry address must be host:port, not "${address}"`);
  const env = context.io.env;
  const fingerprint = given.fingerprint ?? env.PILOT_REGISTRY_FINGERPRINT ?? target.daemon?.fingerprint;
  const tls = given.tls ?? envTls(env) ?? target.daemon?.tls;
  // Loaded by the commands that talk to the registry only (it brings @pilot/crypto along).
  const { DirectoryClient, resolveRegistryLink } = await import('@pilot/directory/client');
  try {
    const link = await resolveRegistryLink({
      ...parts,
      ...(tls === undefined ? {} : { tls }),
      ...(fingerprint === undefined || fingerprint === '' ? {} : { fingerprint }),
      knownFile: join(context.home, 'known_registries.json'),
    });
    return await DirectoryClient.connect({
      ...parts,
      requestTimeoutMs: 10_000,
      reconnectAttempts: 1,
      ...(link.tls === undefined ? {} : { tls: link.tls }),
    });
  } catch (error) {
    if (isPilotError(error, 'DIR_PIN_MISMATCH'))
      throw cliError('unavailable', `refusing the registry at ${address}: ${error.message}`);
    if (isPilotError(error, 'DIR_BAD_REQUEST')) throw cliError('invalid_argument', error.message);
    throw cliError(
      'unavailable',
      `cannot reach the registry at ${address}: ${(error as Error).message}`,
      'check that pilot-rendezvous runs there',
    );
  }
}
