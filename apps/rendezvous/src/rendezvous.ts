import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  type DirectoryServer,
  RegistryHandler,
  SqliteDirectoryStore,
  startDirectoryServer,
} from '@pilot/directory';
import type { BeaconFactory, BeaconHandle } from './beacon.js';
import type { RendezvousConfig } from './config.js';
import { RendezvousErrorCode, rendezvousError } from './errors.js';
import type { Logger } from './logger.js';

const SHUTDOWN_DRAIN_MS = 250;

export type Rendezvous = {
  /** Where the registry listens (the real port when 0 was asked for). */
  readonly registry: { readonly host: string; readonly port: number };
  /** SHA-256 of the TLS certificate (`AB:CD:…`), what clients pin; undefined without TLS. */
  readonly tlsFingerprint: string | undefined;
  readonly beacon: BeaconHandle | undefined;
  /**
   * Stops accepting, keeps serving open connections for 250 ms (requests already on their way),
   * answers every request received, then closes the beacon and the database.
   */
  close(): Promise<void>;
};

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw rendezvousError(
      RendezvousErrorCode.START_FAILED,
      `cannot read the TLS ${what} ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      error,
    );
  }
}

/** Opens the store and starts the registry (and the beacon, when this build has one). */
export async function startRendezvous(
  config: RendezvousConfig,
  logger: Logger,
  beacon?: BeaconFactory,
): Promise<Rendezvous> {
  let tls: { key: string; cert: string } | undefined;
  let tlsFingerprint: string | undefined;
  if (config.tls !== undefined) {
    tls = { cert: readPem(config.tls.certFile, 'certificate'), key: readPem(config.tls.keyFile, 'key') };
    try {
      tlsFingerprint = new X509Certificate(tls.cert).fingerprint256;
    } catch (error) {
      throw rendezvousError(
        RendezvousErrorCode.START_FAILED,
        `${config.tls.certFile} is not a PEM certificate`,
        error,
      );
    }
  }

  let store: SqliteDirectoryStore;
  try {
    if (config.store !== ':memory:') mkdirSync(dirname(config.store), { recursive: true, mode: 0o700 });
    store = new SqliteDirectoryStore({ path: config.store });
  } catch (error) {
    throw rendezvousError(
      RendezvousErrorCode.START_FAILED,
      `cannot open the store ${config.store}: ${error instanceof Error ? error.message : String(error)}`,
      error,
    );
  }

  const onError = (error: unknown): void =>
    logger.log('error', 'registry fault', { error: error instanceof Error ? error.message : String(error) });
  const handler = new RegistryHandler(
    store,
    config.adminToken === undefined ? {} : { adminToken: config.adminToken },
    onError,
  );
  let server: DirectoryServer;
  try {
    server = await startDirectoryServer({
      handler,
      host: config.registryAddr.host,
      port: config.registryAddr.port,
      onError,
      ...(tls === undefined ? {} : { tls }),
    });
  } catch (error) {
    store.close();
    const code = (error as NodeJS.ErrnoException).code;
    throw rendezvousError(
      RendezvousErrorCode.START_FAILED,
      `cannot listen on ${config.registryAddr.host}:${config.registryAddr.port} (${code ?? String(error)})`,
      error,
    );
  }

  let beaconHandle: BeaconHandle | undefined;
  if (beacon !== undefined) {
    try {
      beaconHandle = await beacon({ host: config.beaconAddr.host, port: config.beaconAddr.port, logger });
    } catch (error) {
      await server.close();
      store.close();
      throw rendezvousError(
        RendezvousErrorCode.START_FAILED,
        `cannot start the beacon on ${config.beaconAddr.host}:${config.beaconAddr.port}`,
        error,
      );
    }
  }

  let closing: Promise<void> | undefined;
  return {
    registry: { host: server.host, port: server.port },
    tlsFingerprint,
    beacon: beaconHandle,
    close(): Promise<void> {
      closing ??= (async () => {
        await beaconHandle?.close();
        // Requests sent just before the signal are still in flight: serve them for a moment.
        await server.close({ drainMs: SHUTDOWN_DRAIN_MS });
        store.close();
      })();
      return closing;
    },
  };
}
