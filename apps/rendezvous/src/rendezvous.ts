import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fromBase64 } from '@pilot/directory/client';
import {
  createSelfSignedCertificate,
  type DirectoryServer,
  startDirectoryServer,
} from '@pilot/directory/server';
import { type BeaconFactory, type BeaconHandle, formatHostPort, type TlsRelayHandle } from './beacon.js';
import { startBudgetLog } from './budget-log.js';
import {
  beaconBudgetOptions,
  registryBudgetOptions,
  serverBudgetOptions,
  tlsRelayBudgetOptions,
} from './budgets.js';
import type { RendezvousConfig, TlsConfig } from './config.js';
import { DashboardSampler } from './dashboard-stats.js';
import { RendezvousErrorCode, rendezvousError } from './errors.js';
import { type HealthReport, type HealthServer, startHealthServer } from './health.js';
import { type OperatorRoutes, operatorRoutes } from './http-routes.js';
import type { Logger } from './logger.js';
import { ObservedRegistryHandler, RendezvousObserver } from './observer.js';
import { describeStore, type OpenedStore, openStore } from './store.js';

const SHUTDOWN_DRAIN_MS = 250;

export type Rendezvous = {
  /** Where the registry listens (the real port when 0 was asked for). */
  readonly registry: { readonly host: string; readonly port: number };
  /** SHA-256 of the TLS certificate's DER (lowercase hex), what clients pin; undefined without TLS. */
  readonly tlsFingerprint: string | undefined;
  readonly beacon: BeaconHandle | undefined;
  /** The second beacon socket (`--stun-addr`), a second reflector for NAT classification. */
  readonly stun: BeaconHandle | undefined;
  /** The relay over WebSocket-over-TLS (`--wss-addr`), if on. */
  readonly wss: TlsRelayHandle | undefined;
  /** The health endpoint (`--http`), if on. */
  readonly http: HealthServer | undefined;
  /** What `GET /healthz` answers. */
  health(): HealthReport;
  /**
   * Stops the health endpoint and the beacon, stops accepting registry connections, keeps serving
   * open ones for 250 ms (requests already on their way), answers every request received, then
   * closes the database.
   */
  close(): Promise<void>;
};

/** The port of a `host:port` / `[v6]:port` text. */
function portOf(address: string): number | undefined {
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

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

/**
 * The registry's key and certificate: the operator's files, or the self-signed pair kept beside the
 * store (made on first start, the key readable by the owner only), or a new pair for an in-memory store.
 */
function loadTls(config: TlsConfig, logger: Logger): { key: string; cert: string } {
  if (config.source === 'ephemeral') {
    const made = createSelfSignedCertificate();
    return { key: made.key, cert: made.cert };
  }
  if (config.source === 'store' && !existsSync(config.certFile) && !existsSync(config.keyFile)) {
    const made = createSelfSignedCertificate();
    try {
      mkdirSync(dirname(config.certFile), { recursive: true, mode: 0o700 });
      // The key first, exclusively: two rendezvous starting at once must not end up with a key
      // that does not match the certificate.
      writeFileSync(config.keyFile, made.key, { mode: 0o600, flag: 'wx' });
      writeFileSync(config.certFile, made.cert, { mode: 0o644, flag: 'wx' });
    } catch (error) {
      throw rendezvousError(
        RendezvousErrorCode.START_FAILED,
        `cannot write the TLS certificate beside the store (${config.certFile}): ${(error as Error).message}`,
        error,
      );
    }
    logger.log('info', 'created a self-signed TLS certificate', {
      cert: config.certFile,
      fingerprint: made.fingerprint,
    });
  }
  return { cert: readPem(config.certFile, 'certificate'), key: readPem(config.keyFile, 'key') };
}

/** Opens the store and starts the registry, the beacon (when given a factory) and the health endpoint. */
export async function startRendezvous(
  config: RendezvousConfig,
  logger: Logger,
  beacon?: BeaconFactory,
): Promise<Rendezvous> {
  let tls: { key: string; cert: string } | undefined;
  let tlsFingerprint: string | undefined;
  if (config.tls !== undefined) {
    tls = loadTls(config.tls, logger);
    try {
      // Lowercase hex without colons: what the reference's -registry-fingerprint and ours take.
      tlsFingerprint = new X509Certificate(tls.cert).fingerprint256.replace(/:/g, '').toLowerCase();
    } catch (error) {
      throw rendezvousError(
        RendezvousErrorCode.START_FAILED,
        `${config.tls.source === 'ephemeral' ? 'the generated certificate' : config.tls.certFile} is not a PEM certificate`,
        error,
      );
    }
  }

  let opened: OpenedStore;
  try {
    opened = await openStore(config.store);
  } catch (error) {
    throw rendezvousError(
      RendezvousErrorCode.START_FAILED,
      `cannot open the store ${describeStore(config.store)}: ${error instanceof Error ? error.message : String(error)}`,
      error,
    );
  }

  const onError = (error: unknown): void =>
    logger.log('error', 'registry fault', { error: error instanceof Error ? error.message : String(error) });
  const store = opened;
  const observer = new RendezvousObserver();
  // The second reflector starts after the registry; its port is read at each reply (reflector_port).
  let stunHandle: BeaconHandle | undefined;
  let wssHandle: TlsRelayHandle | undefined;
  const handler = new ObservedRegistryHandler(
    opened.store,
    {
      ...registryBudgetOptions(config.budgets),
      ...(config.stunAddr === undefined || beacon === undefined
        ? {}
        : { reflectorPort: () => (stunHandle === undefined ? undefined : portOf(stunHandle.address)) }),
      // The TLS relay starts after the beacon; its port is read at each reply (wss_port).
      ...(config.wssAddr === undefined || beacon === undefined || tls === undefined
        ? {}
        : { wssPort: () => (wssHandle === undefined ? undefined : portOf(wssHandle.address)) }),
      ...(config.adminToken === undefined ? {} : { adminToken: config.adminToken }),
    },
    onError,
    observer,
  );
  let server: DirectoryServer;
  try {
    server = await startDirectoryServer({
      handler,
      host: config.registryAddr.host,
      port: config.registryAddr.port,
      ...serverBudgetOptions(config.budgets),
      onError,
      ...(tls === undefined ? {} : { tls, requireTls: config.requireTls }),
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
  const unkeyed = config.beaconPeers.filter((peer) => peer.key === undefined);
  if (beacon !== undefined && unkeyed.length > 0)
    logger.log(
      'warn',
      'peer beacons without a sync key: their sync is believed by source address, which can be spoofed',
      {
        peers: unkeyed.map((peer) => formatHostPort(peer.host, peer.port)).join(','),
        fix: '--beacon-sync-keys',
      },
    );
  if (beacon !== undefined) {
    try {
      beaconHandle = await beacon({
        host: config.beaconAddr.host,
        port: config.beaconAddr.port,
        amplification: config.beaconAmplification,
        logger,
        budgets: {
          ...beaconBudgetOptions(config.budgets),
          // The registry's key of a node: a discover that proves it may move the node's relay.
          nodeKey: (node) => {
            const record = opened.store.getNode(node);
            return record === undefined ? undefined : fromBase64(record.publicKey, 32, 'public_key');
          },
          // The other instances' beacons: node tables synced, relays forwarded between them.
          ...(config.beaconPeers.length === 0
            ? {}
            : {
                peers: config.beaconPeers.map((peer) => ({
                  address: peer.host,
                  port: peer.port,
                  ...(peer.key === undefined ? {} : { key: peer.key }),
                })),
                syncIntervalMs: config.beaconSyncMs,
              }),
        },
      });
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

  // A second reflector at another port: a symmetric NAT maps it anew, so nodes can classify their NAT.
  // It is a Beacon of its own (discover + STUN); nodes only ask it where they are, never register there.
  if (beacon !== undefined && config.stunAddr !== undefined) {
    const start = (port: number): Promise<BeaconHandle> =>
      beacon({
        host: config.stunAddr?.host ?? '0.0.0.0',
        port,
        amplification: config.beaconAmplification,
        logger,
        budgets: beaconBudgetOptions(config.budgets),
      });
    try {
      try {
        stunHandle = await start(config.stunAddr.port);
      } catch (error) {
        // The default port (the beacon's + 1) may be someone else's: daemons learn the port from
        // the registry, so any port serves; an address the operator gave is never replaced.
        if (!config.stunAddrDefault || config.stunAddr.port === 0) throw error;
        stunHandle = await start(0);
        logger.log('warn', 'the default STUN reflector port is taken: the OS chose another', {
          wanted: config.stunAddr.port,
          stun: stunHandle.address,
        });
      }
    } catch (error) {
      await beaconHandle?.close();
      await server.close();
      store.close();
      throw rendezvousError(
        RendezvousErrorCode.START_FAILED,
        `cannot start the STUN reflector on ${config.stunAddr.host}:${config.stunAddr.port}`,
        error,
      );
    }
  }

  // The beacon's relay over WebSocket-over-TLS, for nodes whose UDP is blocked: the registry's
  // certificate (nodes pin the same fingerprint) and the registry's node keys (their hello).
  const wssAddr = config.wssAddr;
  const startTlsRelay = beaconHandle?.startTlsRelay;
  // The default relay needs nothing the operator did not ask for: without TLS or a beacon, none.
  if (
    wssAddr !== undefined &&
    !(config.wssAddrDefault && (tls === undefined || startTlsRelay === undefined))
  ) {
    try {
      if (tls === undefined || startTlsRelay === undefined)
        throw new Error(tls === undefined ? 'it needs TLS' : 'it needs the beacon of this build');
      const relayTls = tls;
      const start = (port: number): Promise<TlsRelayHandle> =>
        startTlsRelay({
          host: wssAddr.host,
          port,
          tls: relayTls,
          nodeKey: (node) => {
            const record = opened.store.getNode(node);
            return record === undefined ? undefined : fromBase64(record.publicKey, 32, 'public_key');
          },
          ...tlsRelayBudgetOptions(config.budgets),
        });
      try {
        wssHandle = await start(wssAddr.port);
      } catch (error) {
        // The default port may be someone else's: daemons learn the port from the registry, so any
        // port serves; an address the operator gave is never replaced.
        if (!config.wssAddrDefault || wssAddr.port === 0) throw error;
        wssHandle = await start(0);
        logger.log('warn', 'the default TLS relay port is taken: the OS chose another', {
          wanted: wssAddr.port,
          wss: wssHandle.address,
        });
      }
    } catch (error) {
      await stunHandle?.close();
      await beaconHandle?.close();
      await server.close();
      store.close();
      throw rendezvousError(
        RendezvousErrorCode.START_FAILED,
        `cannot start the TLS relay on ${wssAddr.host}:${wssAddr.port}: ${error instanceof Error ? error.message : String(error)}`,
        error,
      );
    }
  }

  const started = performance.now();
  const registryAddress = formatHostPort(server.host, server.port);
  let closing: Promise<void> | undefined;
  const health = (): HealthReport => ({
    status: closing === undefined ? 'ok' : 'stopping',
    uptimeSeconds: Math.round((performance.now() - started) / 1000),
    registry: {
      address: registryAddress,
      tls: tls !== undefined,
      ...(tlsFingerprint === undefined ? {} : { fingerprint: tlsFingerprint }),
      plaintext: tls === undefined || !config.requireTls,
      connections: server.connections,
      liveNodes: closing === undefined ? store.liveNodes() : 0,
      budgets: { ...server.stats(), ...handler.limits.counters },
    },
    beacon: beaconHandle?.status(),
    ...(stunHandle === undefined ? {} : { stun: stunHandle.status() }),
    ...(wssHandle === undefined ? {} : { wss: wssHandle.status() }),
  });

  // What /metrics shows: the registry's own counters (kept by the handler), and these gauges.
  const online = observer.metrics.gauge('pilot_registry_nodes_online', 'Registered nodes not yet expired.');
  const connections = observer.metrics.gauge('pilot_registry_connections', 'Open registry connections.');
  const budgetRefusals = observer.metrics.counter(
    'pilot_registry_budget_refusals_total',
    "What the registry's budgets refused (rates, frame deadlines, registrations per IP, inboxes, …), by budget.",
  );
  const buffered = observer.metrics.gauge(
    'pilot_registry_buffered_bytes',
    'Bytes buffered for registry connections.',
  );
  observer.metrics.collect(() => {
    if (closing !== undefined) return;
    online.set(store.liveNodes());
    connections.set(server.connections);
    const { bufferedBytes, ...refusals } = server.stats();
    buffered.set(bufferedBytes);
    for (const [name, value] of Object.entries({ ...refusals, ...handler.limits.counters }))
      if (typeof value === 'number') budgetRefusals.mirror(value, { budget: name });
  });
  if (beaconHandle !== undefined) observer.watchBeacon('beacon', () => beaconHandle?.status());
  if (stunHandle !== undefined) observer.watchBeacon('stun', () => stunHandle?.status());
  // One line per interval naming the budgets that were hit (counters only grow on the hot paths).
  const stopBudgetLog = startBudgetLog(logger, config.budgets['log-interval-ms'], () => {
    const counters: Record<string, number> = {};
    const { bufferedBytes: _held, ...server_ } = server.stats();
    for (const [name, value] of Object.entries({ ...server_, ...handler.limits.counters }))
      counters[`registry.${name}`] = value;
    for (const [prefix, handle] of [
      ['beacon', beaconHandle],
      ['stun', stunHandle],
    ] as const) {
      if (handle === undefined) continue;
      for (const [name, value] of Object.entries(handle.status().stats))
        if (name.startsWith('dropped')) counters[`${prefix}.${name}`] = value;
    }
    if (wssHandle !== undefined) {
      const { refusedConnections, refusedHandshakes, droppedBadMessages } = wssHandle.status().stats;
      Object.assign(counters, {
        'wss.refusedConnections': refusedConnections,
        'wss.refusedHandshakes': refusedHandshakes,
        'wss.droppedBadMessages': droppedBadMessages,
      });
    }
    return counters;
  });

  let http: HealthServer | undefined;
  let sampler: DashboardSampler | undefined;
  let routes: OperatorRoutes | undefined;
  if (config.http !== undefined) {
    try {
      sampler = new DashboardSampler(store, observer, () => beaconHandle?.status());
      routes = operatorRoutes({
        listenHost: config.http.host,
        adminToken: config.adminToken,
        observer,
        sampler,
      });
      http = await startHealthServer(config.http.host, config.http.port, health, routes.handle);
    } catch (error) {
      routes?.close();
      sampler?.close();
      stopBudgetLog();
      await wssHandle?.close();
      await stunHandle?.close();
      await beaconHandle?.close();
      await server.close();
      store.close();
      const code = (error as NodeJS.ErrnoException).code;
      throw rendezvousError(
        RendezvousErrorCode.START_FAILED,
        `cannot serve the health endpoint on ${config.http.host}:${config.http.port} (${code ?? String(error)})`,
        error,
      );
    }
  }

  return {
    registry: { host: server.host, port: server.port },
    tlsFingerprint,
    beacon: beaconHandle,
    stun: stunHandle,
    wss: wssHandle,
    http,
    health,
    close(): Promise<void> {
      closing ??= (async () => {
        routes?.close();
        sampler?.close();
        stopBudgetLog();
        await http?.close();
        await wssHandle?.close();
        await stunHandle?.close();
        await beaconHandle?.close();
        // Requests sent just before the signal are still in flight: serve them for a moment.
        await server.close({ drainMs: SHUTDOWN_DRAIN_MS });
        store.close();
      })();
      return closing;
    },
  };
}
