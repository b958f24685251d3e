import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { PROMETHEUS_CONTENT_TYPE } from './exposition.js';
import type { MetricsRegistry } from './metrics-registry.js';

export type MetricsServer = {
  /** `host:port` as bound. */
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
};

export type MetricsServerOptions = {
  readonly registry: MetricsRegistry;
  /** Default 127.0.0.1: metrics stay on the machine unless the operator says otherwise. */
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** When set, `Authorization: Bearer <token>` is required (for a listener off loopback). */
  readonly token?: string;
};

/** Whether a request carries `Authorization: Bearer <token>` (compared in constant time). */
export function hasBearerToken(request: IncomingMessage, token: string): boolean {
  const header = request.headers.authorization ?? '';
  const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7) : '');
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

/** Answers GET /metrics with the registry's text; what else a server does is the caller's. */
export function serveMetrics(
  registry: MetricsRegistry,
  request: IncomingMessage,
  response: ServerResponse,
): void {
  const body = registry.render();
  response.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'cache-control': 'no-store' });
  response.end(request.method === 'HEAD' ? undefined : body);
}

/** A listener that serves only `GET /metrics` (the daemon's opt-in endpoint). */
export function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const host = options.host ?? '127.0.0.1';
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (options.token !== undefined && !hasBearerToken(request, options.token)) {
      response
        .writeHead(401, { 'www-authenticate': 'Bearer', 'content-type': 'text/plain' })
        .end('unauthorized\n');
      return;
    }
    serveMetrics(options.registry, request, response);
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      const bound = server.address();
      const port = typeof bound === 'object' && bound !== null ? bound.port : options.port;
      resolve({
        address: `${host.includes(':') ? `[${host}]` : host}:${port}`,
        port,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
