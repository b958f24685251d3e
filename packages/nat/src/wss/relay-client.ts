import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import type { Identity } from '@pilot/crypto';
import { decodeBeaconMessage, encodeBeaconMessage, isPilotError } from '@pilot/wire';
import { NatErrorCode, natError } from '../errors.js';
import { connectThroughProxy, dialTcp, type HttpProxy } from './http-connect.js';
import { parseHttpResponseHead, readHttpHead, wsAcceptKey, wsClientKey } from './http-head.js';
import { decodeRelayChallenge, encodeRelayHello, RelayHelloType } from './relay-hello.js';
import { TLS_RELAY_MAX_MESSAGE } from './relay-server.js';
import { WsConnection } from './ws-connection.js';

export interface TlsRelayTlsOptions {
  /** SHA-256 of the relay's certificate (hex, colons ignored): only it is accepted. */
  readonly pin?: string | undefined;
  /** Trust on first use, as the registry client's: throws to refuse a fingerprint. */
  readonly verify?: ((fingerprint: string) => void) | undefined;
  /** CAs to trust when neither pin nor verify is given (default: the system's). */
  readonly ca?: string | Buffer | undefined;
  readonly servername?: string | undefined;
}

export interface TlsRelayLinkOptions {
  readonly host: string;
  readonly port: number;
  /** HTTP path of the relay's WebSocket. Default `/pilot/relay`. */
  readonly path?: string | undefined;
  readonly identity: Identity;
  /** Our node ID (the registry's): the hello proves it, and relayed frames carry it as source. */
  readonly node: number;
  readonly tls: TlsRelayTlsOptions;
  /** An HTTP CONNECT proxy to reach the relay through. */
  readonly proxy?: HttpProxy | undefined;
  /** Each connection attempt (TCP, proxy, TLS, WebSocket, hello) must finish within this. Default 10 s. */
  readonly connectTimeoutMs?: number | undefined;
  /** Ping after this much silence; close after twice it. Default 15 s (proxies drop idle tunnels). */
  readonly idleMs?: number | undefined;
  /** Bytes the TLS socket may hold unsent before frames are dropped. Default 256 KiB (see README). */
  readonly maxQueuedBytes?: number | undefined;
  /** Reconnect back-off bounds. Default 500 ms doubling to 15 s. */
  readonly reconnectMinMs?: number | undefined;
  readonly reconnectMaxMs?: number | undefined;
  /** A frame relayed to us, with the node that sent it. */
  readonly onDeliver: (source: number, frame: Uint8Array) => void;
  /** The link went up (true) or down (false), with why. */
  readonly onState?: ((up: boolean, detail: string) => void) | undefined;
}

export interface TlsRelayLinkStats {
  connects: number;
  failures: number;
  framesOut: number;
  framesIn: number;
  bytesOut: number;
  bytesIn: number;
  /** Frames dropped because the link was down or its queue was over maxQueuedBytes. */
  droppedFrames: number;
  /** Messages from the relay that were not relayDeliver. */
  droppedBadMessages: number;
}

/**
 * A node's connection to the rendezvous' TLS relay (relay-server.ts), kept up with back-off:
 * TCP (directly or through an HTTP CONNECT proxy), TLS with the registry's pinned certificate, a
 * WebSocket, the signed hello; then `send(destination, frame)` relays a tunnel frame and
 * `onDeliver` receives them. `close()` stops it for good.
 */
export class TlsRelayLink {
  readonly #options: TlsRelayLinkOptions;
  #ws: WsConnection | undefined;
  #attempt: AbortController | undefined;
  #timer: NodeJS.Timeout | undefined;
  #backoff: number;
  #closed = false;
  #lastError = '';
  readonly #waiters = new Set<() => void>();
  readonly stats: TlsRelayLinkStats = {
    connects: 0,
    failures: 0,
    framesOut: 0,
    framesIn: 0,
    bytesOut: 0,
    bytesIn: 0,
    droppedFrames: 0,
    droppedBadMessages: 0,
  };

  constructor(options: TlsRelayLinkOptions) {
    this.#options = options;
    this.#backoff = options.reconnectMinMs ?? 500;
    this.#connect();
  }

  /** Whether the link is authenticated and open. */
  get up(): boolean {
    return this.#ws !== undefined && !this.#ws.closed;
  }

  /** Why the last attempt failed ('' if none did). */
  get lastError(): string {
    return this.#lastError;
  }

  /** Bytes the TLS socket holds unsent. */
  get queuedBytes(): number {
    return this.#ws?.queuedBytes ?? 0;
  }

  /** Resolves when the link is up; rejects with NAT_TIMEOUT after `timeoutMs`. */
  ready(timeoutMs: number): Promise<void> {
    if (this.up) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(done);
        reject(
          natError(
            NatErrorCode.TIMEOUT,
            `TLS relay ${this.#options.host}:${this.#options.port} not up after ${timeoutMs} ms${this.#lastError === '' ? '' : ` (${this.#lastError})`}`,
          ),
        );
      }, timeoutMs);
      this.#waiters.add(done);
    });
  }

  /** Relays one tunnel frame to `destination`; false when dropped (link down, queue full). */
  send(destination: number, frame: Uint8Array): boolean {
    const ws = this.#ws;
    if (ws === undefined || ws.closed) {
      this.stats.droppedFrames++;
      return false;
    }
    const sent = ws.send(
      encodeBeaconMessage({ type: 'relay', source: this.#options.node, destination, frame }),
    );
    if (!sent) {
      this.stats.droppedFrames++;
      return false;
    }
    this.stats.framesOut++;
    this.stats.bytesOut += frame.length;
    return true;
  }

  /** Closes the connection and stops reconnecting. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#attempt?.abort();
    const ws = this.#ws;
    this.#ws = undefined;
    ws?.close(1000, 'node closing');
    // Do not wait for the other end: the socket goes within a second either way.
    if (ws !== undefined) setTimeout(() => ws.destroy('node closed'), 200).unref?.();
  }

  #connect(): void {
    if (this.#closed) return;
    const attempt = new AbortController();
    this.#attempt = attempt;
    const timeoutMs = this.#options.connectTimeoutMs ?? 10_000;
    const timer = setTimeout(() => attempt.abort(), timeoutMs);
    this.#open(attempt.signal)
      .then((ws) => {
        clearTimeout(timer);
        if (this.#closed) {
          ws.destroy('node closed');
          return;
        }
        this.#ws = ws;
        this.#backoff = this.#options.reconnectMinMs ?? 500;
        this.#lastError = '';
        this.stats.connects++;
        ws.onClose = (reason) => {
          if (this.#ws !== ws) return;
          this.#ws = undefined;
          this.#options.onState?.(false, reason);
          this.#retry();
        };
        this.#options.onState?.(true, 'connected');
        for (const waiter of [...this.#waiters]) waiter();
      })
      .catch((error: unknown) => {
        clearTimeout(timer);
        if (this.#closed) return;
        this.stats.failures++;
        this.#lastError = attempt.signal.aborted
          ? `timed out after ${timeoutMs} ms`
          : error instanceof Error
            ? error.message
            : String(error);
        this.#options.onState?.(false, this.#lastError);
        this.#retry();
      });
  }

  #retry(): void {
    if (this.#closed) return;
    const delay = this.#backoff;
    this.#backoff = Math.min(this.#backoff * 2, this.#options.reconnectMaxMs ?? 15_000);
    this.#timer = setTimeout(() => this.#connect(), delay);
  }

  async #open(signal: AbortSignal): Promise<WsConnection> {
    const { host, port, proxy } = this.#options;
    const raw =
      proxy === undefined
        ? await dialTcp(host, port, signal)
        : await connectThroughProxy(proxy, host, port, signal);
    raw.setNoDelay(true);
    let tls: TLSSocket | undefined;
    const onAbort = (): void => {
      raw.destroy();
      tls?.destroy();
    };
    signal.addEventListener('abort', onAbort);
    try {
      tls = await this.#tls(raw);
      const key = wsClientKey();
      const authority = `${host.includes(':') ? `[${host}]` : host}:${port}`;
      tls.write(
        `GET ${this.#options.path ?? '/pilot/relay'} HTTP/1.1\r\nHost: ${authority}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
          'User-Agent: pilot-ts\r\n\r\n',
      );
      const { head, rest } = await readHttpHead(tls, NatErrorCode.WS_HANDSHAKE, signal);
      const response = parseHttpResponseHead(head, NatErrorCode.WS_HANDSHAKE);
      if (response.status !== 101)
        throw natError(
          NatErrorCode.WS_HANDSHAKE,
          `relay answered ${response.status} ${response.reason}, not 101`,
        );
      if (response.headers.get('sec-websocket-accept') !== wsAcceptKey(key))
        throw natError(NatErrorCode.WS_HANDSHAKE, 'relay answered with a wrong Sec-WebSocket-Accept');
      const ws = new WsConnection(tls, {
        role: 'client',
        maxMessage: TLS_RELAY_MAX_MESSAGE,
        maxQueuedBytes: this.#options.maxQueuedBytes ?? 256 * 1024,
        idleMs: this.#options.idleMs ?? 15_000,
        head: rest,
      });
      await this.#hello(ws, signal);
      ws.onMessage = (data) => this.#message(data);
      return ws;
    } catch (error) {
      raw.destroy();
      tls?.destroy();
      throw error;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  #tls(raw: Socket): Promise<TLSSocket> {
    const { tls, host } = this.#options;
    const pin = tls.pin?.replace(/:/g, '').toLowerCase();
    const servername = tls.servername ?? (/^[\d.:]+$/.test(host) ? undefined : host);
    return new Promise((resolve, reject) => {
      const socket = tlsConnect(
        {
          socket: raw,
          rejectUnauthorized: pin === undefined && tls.verify === undefined,
          ...(servername === undefined ? {} : { servername }),
          ...(tls.ca === undefined ? {} : { ca: tls.ca }),
        },
        () => {
          socket.off('error', onError);
          socket.off('close', onClose);
          // Nothing is written before the certificate is checked.
          const fingerprint = createHash('sha256').update(socket.getPeerCertificate().raw).digest('hex');
          try {
            if (pin !== undefined && fingerprint !== pin)
              throw natError(
                NatErrorCode.PIN_MISMATCH,
                `relay certificate ${fingerprint} is not the pinned ${pin}`,
              );
            if (pin === undefined) tls.verify?.(fingerprint);
          } catch (error) {
            socket.destroy();
            reject(error);
            return;
          }
          resolve(socket);
        },
      );
      const onError = (error: Error): void => {
        socket.destroy();
        reject(natError(NatErrorCode.RELAY_REFUSED, `TLS with the relay failed: ${error.message}`, error));
      };
      const onClose = (): void => reject(natError(NatErrorCode.RELAY_REFUSED, 'relay closed during TLS'));
      socket.once('error', onError);
      socket.once('close', onClose);
    });
  }

  #hello(ws: WsConnection, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      let stage: 'challenge' | 'welcome' = 'challenge';
      const fail = (error: Error): void => {
        signal.removeEventListener('abort', onAbort);
        ws.destroy('hello failed');
        reject(error);
      };
      const onAbort = (): void => fail(natError(NatErrorCode.ABORTED, 'hello aborted'));
      signal.addEventListener('abort', onAbort);
      ws.onClose = (reason) =>
        fail(natError(NatErrorCode.RELAY_REFUSED, `relay closed before welcome: ${reason}`));
      ws.onMessage = (data) => {
        try {
          if (stage === 'challenge') {
            const nonce = decodeRelayChallenge(data);
            stage = 'welcome';
            ws.send(encodeRelayHello(this.#options.identity, this.#options.node, nonce));
            return;
          }
          if (data.length !== 1 || data[0] !== RelayHelloType.WELCOME)
            throw natError(NatErrorCode.RELAY_REFUSED, 'expected the relay welcome');
          signal.removeEventListener('abort', onAbort);
          ws.onClose = () => {};
          ws.onMessage = () => {};
          resolve();
        } catch (error) {
          fail(error instanceof Error ? error : new Error(String(error)));
        }
      };
    });
  }

  #message(data: Uint8Array): void {
    try {
      const message = decodeBeaconMessage(data);
      if (message.type !== 'relayDeliver') {
        this.stats.droppedBadMessages++;
        return;
      }
      this.stats.framesIn++;
      this.stats.bytesIn += message.frame.length;
      this.#options.onDeliver(message.source, message.frame);
    } catch (error) {
      if (!isPilotError(error)) throw error;
      this.stats.droppedBadMessages++;
    }
  }
}
