import type { IncomingMessage, ServerResponse } from 'node:http';
import { serveMetrics } from '@pilot/metrics';
import { dashboardPage } from './dashboard-page.js';
import type { DashboardSampler } from './dashboard-stats.js';
import { checkAccess, requestToken } from './http-access.js';
import type { RendezvousObserver } from './observer.js';

export type OperatorRoutes = {
  readonly handle: (request: IncomingMessage, response: ServerResponse, path: string) => boolean;
  /** Ends the open event streams (before the server closes). */
  close(): void;
};

const STREAM_INTERVAL_MS = 2000;

/**
 * The operator's pages on the `--http` listener, beside `/healthz`: `/metrics` (Prometheus text),
 * `/` (the dashboard), `/api/stats` (its data as JSON) and `/api/stream` (the same, pushed as
 * server-sent events every 2 s and at each event). Off loopback they need the admin token.
 */
export function operatorRoutes(options: {
  readonly listenHost: string;
  readonly adminToken: string | undefined;
  readonly observer: RendezvousObserver;
  readonly sampler: DashboardSampler;
}): OperatorRoutes {
  const streams = new Set<ServerResponse>();
  const send = (response: ServerResponse): void => {
    response.write(`event: stats\ndata: ${JSON.stringify(options.sampler.snapshot())}\n\n`);
  };
  let timer: NodeJS.Timeout | undefined;
  let pending: NodeJS.Timeout | undefined;
  const broadcast = (): void => {
    for (const response of streams) send(response);
  };
  const unsubscribe = options.observer.onEvent(() => {
    // Events come in bursts (a batch of registrations): one push for the burst.
    pending ??= setTimeout(() => {
      pending = undefined;
      broadcast();
    }, 100);
  });

  const handle = (request: IncomingMessage, response: ServerResponse, path: string): boolean => {
    if (!['/', '/metrics', '/api/stats', '/api/stream'].includes(path)) return false;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response
        .writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' })
        .end('method not allowed\n');
      return true;
    }
    const access = checkAccess(options.listenHost, options.adminToken, request);
    if (access === 'no-token-configured') {
      response
        .writeHead(403, { 'content-type': 'text/plain' })
        .end('the operator pages off loopback need --admin-token\n');
      return true;
    }
    if (access === 'denied') {
      response
        .writeHead(401, { 'www-authenticate': 'Bearer', 'content-type': 'text/plain' })
        .end('unauthorized\n');
      return true;
    }
    const headers: Record<string, string> = { 'cache-control': 'no-store' };
    // A token given in the address: kept as a cookie for the page's own requests.
    const token = access === 'allowed' ? requestToken(request) : undefined;
    if (token !== undefined && request.headers.authorization === undefined)
      headers['set-cookie'] = `pilot_admin=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`;
    if (path === '/metrics') {
      serveMetrics(options.observer.metrics, request, response);
      return true;
    }
    if (path === '/api/stats') {
      response.writeHead(200, { ...headers, 'content-type': 'application/json' });
      response.end(request.method === 'HEAD' ? undefined : `${JSON.stringify(options.sampler.snapshot())}\n`);
      return true;
    }
    if (path === '/api/stream') {
      response.writeHead(200, { ...headers, 'content-type': 'text/event-stream', connection: 'keep-alive' });
      streams.add(response);
      send(response);
      timer ??= setInterval(broadcast, STREAM_INTERVAL_MS);
      response.on('close', () => {
        streams.delete(response);
        if (streams.size === 0 && timer !== undefined) {
          clearInterval(timer);
          timer = undefined;
        }
      });
      return true;
    }
    const body = dashboardPage(options.sampler.snapshot());
    response.writeHead(200, {
      ...headers,
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy':
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
      'x-frame-options': 'DENY',
    });
    response.end(request.method === 'HEAD' ? undefined : body);
    return true;
  };

  return {
    handle,
    close(): void {
      unsubscribe();
      if (timer !== undefined) clearInterval(timer);
      if (pending !== undefined) clearTimeout(pending);
      for (const response of streams) response.end();
      streams.clear();
    },
  };
}
