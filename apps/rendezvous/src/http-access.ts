import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Whether a listening host is loopback-only (then the operator's pages need no token). */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The admin token of a request: `Authorization: Bearer …` (scrapers), or the `pilot_admin` cookie
 * that `/?token=…` sets (a browser keeps it, so the token leaves the address bar after one load).
 */
export function requestToken(request: IncomingMessage): string | undefined {
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ') === true) return header.slice(7);
  const cookie = /(?:^|;\s*)pilot_admin=([^;]*)/.exec(request.headers.cookie ?? '')?.[1];
  if (cookie !== undefined) return decodeURIComponent(cookie);
  return new URL(request.url ?? '/', 'http://x').searchParams.get('token') ?? undefined;
}

export type Access = 'open' | 'allowed' | 'denied' | 'no-token-configured';

/** Off loopback, the operator's pages need the admin token (compared in constant time). */
export function checkAccess(
  listenHost: string,
  adminToken: string | undefined,
  request: IncomingMessage,
): Access {
  if (isLoopbackHost(listenHost)) return 'open';
  if (adminToken === undefined) return 'no-token-configured';
  const given = requestToken(request);
  return given !== undefined && equal(given, adminToken) ? 'allowed' : 'denied';
}
