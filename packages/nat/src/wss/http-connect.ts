import { connect as netConnect, type Socket } from 'node:net';
import { NatErrorCode, natError } from '../errors.js';
import { parseHttpResponseHead, readHttpHead } from './http-head.js';

/** An HTTP proxy that tunnels with CONNECT (`--proxy http://user:pass@host:port`, `HTTPS_PROXY`). */
export interface HttpProxy {
  readonly host: string;
  readonly port: number;
  /** Basic credentials, sent as `Proxy-Authorization`. */
  readonly auth?: { readonly user: string; readonly password: string } | undefined;
}

/** Parses `http://[user:pass@]host[:port]` (port 80 by default; also `host:port` alone). */
export function parseProxyUrl(text: string): HttpProxy {
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`);
  } catch (error) {
    throw natError(NatErrorCode.OUT_OF_RANGE, `proxy ${JSON.stringify(text)} is not a URL`, error);
  }
  if (url.protocol !== 'http:')
    throw natError(
      NatErrorCode.OUT_OF_RANGE,
      `proxy ${url.protocol}// is not supported: only http:// CONNECT proxies`,
    );
  if (url.hostname === '')
    throw natError(NatErrorCode.OUT_OF_RANGE, `proxy ${JSON.stringify(text)} has no host`);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port === '' ? 80 : Number(url.port);
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  return { host, port, ...(user === '' && password === '' ? {} : { auth: { user, password } }) };
}

/** A proxy URL with its password hidden, for logs. */
export function describeProxy(proxy: HttpProxy): string {
  const host = proxy.host.includes(':') ? `[${proxy.host}]` : proxy.host;
  return `http://${proxy.auth === undefined ? '' : `${proxy.auth.user}:***@`}${host}:${proxy.port}`;
}

/** Opens a TCP connection, rejecting with NAT_ABORTED when `signal` fires first. */
export function dialTcp(host: string, port: number, signal?: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host, port });
    const cleanup = (): void => {
      socket.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
    };
    const onError = (error: Error): void => {
      cleanup();
      socket.destroy();
      reject(natError(NatErrorCode.ABORTED, `cannot connect to ${host}:${port}: ${error.message}`, error));
    };
    const onAbort = (): void => {
      cleanup();
      socket.destroy();
      reject(natError(NatErrorCode.ABORTED, `connecting to ${host}:${port} was aborted`));
    };
    if (signal?.aborted === true) {
      onAbort();
      return;
    }
    socket.once('error', onError);
    signal?.addEventListener('abort', onAbort);
    socket.once('connect', () => {
      cleanup();
      resolve(socket);
    });
  });
}

/**
 * A TCP connection to `host:port` through `proxy` (HTTP CONNECT, RFC 9110 §9.3.6): the returned
 * socket carries bytes to the target. A proxy answer other than 2xx rejects with NAT_PROXY_REFUSED.
 */
export async function connectThroughProxy(
  proxy: HttpProxy,
  host: string,
  port: number,
  signal?: AbortSignal,
): Promise<Socket> {
  const socket = await dialTcp(proxy.host, proxy.port, signal);
  const authority = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const lines = [`CONNECT ${authority} HTTP/1.1`, `Host: ${authority}`];
  if (proxy.auth !== undefined) {
    const token = Buffer.from(`${proxy.auth.user}:${proxy.auth.password}`, 'utf8').toString('base64');
    lines.push(`Proxy-Authorization: Basic ${token}`);
  }
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  try {
    const { head, rest } = await readHttpHead(socket, NatErrorCode.PROXY_REFUSED, signal);
    const response = parseHttpResponseHead(head, NatErrorCode.PROXY_REFUSED);
    if (response.status < 200 || response.status > 299)
      throw natError(
        NatErrorCode.PROXY_REFUSED,
        `proxy ${describeProxy(proxy)} refused CONNECT ${authority}: ${response.status} ${response.reason}`,
      );
    // A proxy sends nothing after its 2xx until the target speaks, and TLS's client speaks first.
    if (rest.length > 0)
      throw natError(NatErrorCode.PROXY_REFUSED, `proxy sent ${rest.length} bytes after its answer`);
    return socket;
  } catch (error) {
    socket.destroy();
    throw error;
  }
}
