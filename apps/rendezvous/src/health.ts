import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { DirectoryServerStats, RegistryLimitCounters } from '@pilot/directory/server';
import type { BeaconStatus, TlsRelayStatus } from './beacon.js';
import { formatHostPort } from './beacon.js';

/** What `GET /healthz` answers (HTTP 200 while serving, 503 once shutting down). */
export type HealthReport = {
  readonly status: 'ok' | 'stopping';
  readonly uptimeSeconds: number;
  readonly registry: {
    readonly address: string;
    readonly tls: boolean;
    /** SHA-256 of the TLS certificate's DER (lowercase hex): what clients pin. */
    readonly fingerprint?: string;
    /** Whether plaintext clients are served too (reference daemons without TLS). */
    readonly plaintext: boolean;
    /** Open registry connections. */
    readonly connections: number;
    /** Registered nodes not yet expired. */
    readonly liveNodes: number;
    /** What the registry's budgets refused since the start (the beacon's are in its stats). */
    readonly budgets: DirectoryServerStats & RegistryLimitCounters;
  };
  readonly beacon: BeaconStatus | undefined;
  /** The second reflector (`--stun-addr`), when on. */
  readonly stun?: BeaconStatus;
  /** The relay over WebSocket-over-TLS (`--wss-addr`), when on. */
  readonly wss?: TlsRelayStatus;
};

export type HealthServer = {
  /** The bound TCP address, as `host:port`. */
  readonly address: string;
  close(): Promise<void>;
};

/**
 * A small HTTP server for supervisors and load balancers: `GET /healthz` (or HEAD) answers the
 * report as JSON; anything else is 404 or 405. It serves only this, so it may listen on a private
 * interface beside the public registry and beacon ports.
 */
export async function startHealthServer(
  host: string,
  port: number,
  report: () => HealthReport,
  /** Other pages (`/metrics`, the dashboard): returns true when it answered the request. */
  routes?: (request: IncomingMessage, response: ServerResponse, path: string) => boolean,
): Promise<HealthServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    if (path !== '/healthz' && routes?.(request, response, path) === true) return;
    if (path !== '/healthz') {
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'application/json' });
      response.end('{"error":"method not allowed"}\n');
      return;
    }
    const current = report();
    const body = `${JSON.stringify(current)}\n`;
    const status = current.status === 'ok' ? 200 : 503;
    response.writeHead(status, {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      'content-length': Buffer.byteLength(body),
    });
    response.end(request.method === 'HEAD' ? undefined : body);
  });
  // Health checks are short: do not let idle keep-alive sockets hold the shutdown.
  server.keepAliveTimeout = 1000;
  server.headersTimeout = 5000;
  server.requestTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  const address =
    typeof bound === 'object' && bound !== null
      ? formatHostPort(bound.address, bound.port)
      : `${host}:${port}`;
  let closing: Promise<void> | undefined;
  return {
    address,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
