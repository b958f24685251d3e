import { createHash } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { type TLSSocket, type ConnectionOptions as TlsConnectOptions, connect as tlsConnect } from 'node:tls';
import { decodeJsonMessage, encodeJsonFrame, FrameDecoder, REGISTRY_MAX_FRAME } from '@pilot/wire';
import { DirErrorCode, dirError } from '../errors.js';

export type TlsClientOptions = {
  /**
   * SHA-256 of the server certificate's DER, in hex (colons and case ignored). When set, only that
   * certificate is accepted and the CA chain is not consulted (self-signed registries).
   */
  readonly pin?: string;
  /**
   * Trust on first use: without `pin`, the certificate's fingerprint (lowercase hex) is handed to
   * this function before anything is written; it throws to refuse (a remembered fingerprint that
   * changed) and otherwise remembers it. The CA chain is not consulted.
   */
  readonly verify?: (fingerprint: string) => void;
  /** CA certificates to trust instead of the system's, when neither pinning nor `verify`. */
  readonly ca?: string | Buffer;
  readonly servername?: string;
};

/**
 * Opens the TCP connection to `host:port` some other way than directly (an HTTP CONNECT proxy):
 * resolves with a connected socket that carries bytes to the registry; TLS, if any, runs over it.
 */
export type Dialer = (host: string, port: number) => Promise<Socket>;

export type ConnectionOptions = {
  readonly host: string;
  readonly port: number;
  readonly dial?: Dialer;
  readonly tls?: TlsClientOptions;
  readonly connectTimeoutMs: number;
  readonly maxFrameSize?: number;
};

/** The SHA-256 fingerprint of a DER certificate, as lowercase hex. */
export function certificateFingerprint(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex');
}

function normalisePin(pin: string): string {
  return pin.replace(/:/g, '').toLowerCase();
}

/**
 * One connection to a registry: one request at a time, its reply matched by order. Any failure
 * (socket error, close, a reply that is not a JSON object) fails the pending request and kills the
 * connection, since what follows on the stream can no longer be trusted to line up.
 */
export class RegistryConnection {
  readonly #socket: Socket;
  readonly #decoder: FrameDecoder;
  readonly #maxFrame: number;
  #pending: { resolve(reply: Record<string, unknown>): void; reject(error: Error): void } | undefined;
  #dead: Error | undefined;

  private constructor(socket: Socket, maxFrame: number) {
    this.#socket = socket;
    this.#maxFrame = maxFrame;
    this.#decoder = new FrameDecoder(maxFrame);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (error) =>
      this.#fail(dirError(DirErrorCode.CONNECTION, `registry connection failed: ${error.message}`, error)),
    );
    socket.on('close', () => this.#fail(dirError(DirErrorCode.CONNECTION, 'registry connection closed')));
  }

  static async open(options: ConnectionOptions): Promise<RegistryConnection> {
    if (options.dial === undefined) return RegistryConnection.#open(options, undefined);
    return RegistryConnection.#open(
      options,
      await dialWithin(options.dial, options.host, options.port, options.connectTimeoutMs),
    );
  }

  static #open(options: ConnectionOptions, raw: Socket | undefined): Promise<RegistryConnection> {
    const maxFrame = options.maxFrameSize ?? REGISTRY_MAX_FRAME;
    return new Promise((resolve, reject) => {
      let socket: Socket;
      const fail = (error: Error): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(error);
      };
      const timer = setTimeout(
        () => fail(dirError(DirErrorCode.TIMEOUT, `connecting to ${options.host}:${options.port} timed out`)),
        options.connectTimeoutMs,
      );
      const ready = (): void => {
        clearTimeout(timer);
        socket.off('error', onError);
        resolve(new RegistryConnection(socket, maxFrame));
      };
      const onError = (error: Error): void =>
        fail(
          dirError(
            DirErrorCode.CONNECTION,
            `cannot reach the registry at ${options.host}:${options.port}: ${error.message}`,
            error,
          ),
        );
      const tls = options.tls;
      if (tls === undefined) {
        if (raw === undefined) socket = netConnect({ host: options.host, port: options.port }, ready);
        else {
          socket = raw;
          queueMicrotask(ready);
        }
      } else {
        const pin = tls.pin === undefined ? undefined : normalisePin(tls.pin);
        const servername = tls.servername ?? (/^[\d.:]+$/.test(options.host) ? undefined : options.host);
        const tlsOptions: TlsConnectOptions = {
          host: options.host,
          port: options.port,
          rejectUnauthorized: pin === undefined && tls.verify === undefined,
          ...(servername === undefined ? {} : { servername }),
          ...(tls.ca === undefined ? {} : { ca: tls.ca }),
          ...(raw === undefined ? {} : { socket: raw }),
        };
        const tlsSocket: TLSSocket = tlsConnect(tlsOptions, () => {
          // Nothing has been written yet: a wrong certificate learns nothing from us.
          const fingerprint = certificateFingerprint(tlsSocket.getPeerCertificate().raw);
          if (pin !== undefined && fingerprint !== pin) {
            fail(
              dirError(
                DirErrorCode.PIN_MISMATCH,
                `registry certificate ${fingerprint} does not match the pinned fingerprint ${pin}`,
              ),
            );
            return;
          }
          if (pin === undefined && tls.verify !== undefined) {
            try {
              tls.verify(fingerprint);
            } catch (error) {
              fail(error instanceof Error ? error : new Error(String(error)));
              return;
            }
          }
          ready();
        });
        socket = tlsSocket;
      }
      socket.on('error', onError);
    });
  }

  get alive(): boolean {
    return this.#dead === undefined;
  }

  /** Sends one request and waits for its reply (the caller serialises requests and sets deadlines). */
  request(message: Readonly<Record<string, unknown>>): Promise<Record<string, unknown>> {
    if (this.#dead !== undefined) return Promise.reject(this.#dead);
    if (this.#pending !== undefined)
      return Promise.reject(new Error('RegistryConnection: one request at a time'));
    const frame = encodeJsonFrame(message, this.#maxFrame);
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.#socket.write(frame);
    });
  }

  close(error: Error = dirError(DirErrorCode.CONNECTION, 'registry connection closed')): void {
    this.#fail(error);
  }

  #onData(chunk: Buffer): void {
    let frames: Uint8Array[];
    try {
      frames = this.#decoder.push(chunk);
    } catch (error) {
      this.#fail(dirError(DirErrorCode.BAD_REPLY, 'registry sent a broken frame', error));
      return;
    }
    for (const frame of frames) {
      const pending = this.#pending;
      if (pending === undefined) {
        this.#fail(dirError(DirErrorCode.BAD_REPLY, 'registry sent a reply nobody asked for'));
        return;
      }
      this.#pending = undefined;
      try {
        pending.resolve(decodeJsonMessage(frame));
      } catch (error) {
        pending.reject(dirError(DirErrorCode.BAD_REPLY, 'registry reply is not a JSON object', error));
        this.#fail(dirError(DirErrorCode.BAD_REPLY, 'registry reply is not a JSON object'));
        return;
      }
    }
  }

  #fail(error: Error): void {
    if (this.#dead === undefined) this.#dead = error;
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.reject(error);
    if (!this.#socket.destroyed) this.#socket.destroy();
  }
}

/** `dial(host, port)` within `timeoutMs`, its failures as DIR_CONNECTION / DIR_TIMEOUT. */
async function dialWithin(dial: Dialer, host: string, port: number, timeoutMs: number): Promise<Socket> {
  let timer: NodeJS.Timeout | undefined;
  const dialing = dial(host, port);
  try {
    return await Promise.race([
      dialing.catch((error: unknown) => {
        throw dirError(
          DirErrorCode.CONNECTION,
          `cannot reach the registry at ${host}:${port}: ${error instanceof Error ? error.message : String(error)}`,
          error,
        );
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(dirError(DirErrorCode.TIMEOUT, `connecting to ${host}:${port} timed out`)),
          timeoutMs,
        );
      }),
    ]);
  } catch (error) {
    // A dial that completes after the deadline must not leave its socket open.
    void dialing.then(
      (socket) => socket.destroy(),
      () => {},
    );
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** What a registry speaks: TLS (with its certificate's fingerprint) or plaintext frames. */
export type RegistryTransportProbe =
  | { readonly tls: true; readonly fingerprint: string }
  | { readonly tls: false };

/**
 * Asks a registry for a TLS handshake and sends nothing else: a TLS registry answers with its
 * certificate (whose fingerprint is returned, not yet trusted); a plaintext one (a reference
 * registry without `-tls`) takes the ClientHello for an absurd frame length and hangs up or
 * answers garbage. Rejects with DIR_CONNECTION when the TCP connection itself fails, DIR_TIMEOUT when
 * nothing is decided in time. A man in the middle can make a TLS registry look plaintext here:
 * callers fall back to plaintext only for a registry never seen over TLS.
 */
export async function probeRegistryTransport(
  host: string,
  port: number,
  timeoutMs: number,
  dial?: Dialer,
): Promise<RegistryTransportProbe> {
  const raw = dial === undefined ? undefined : await dialWithin(dial, host, port, timeoutMs);
  return new Promise((resolve, reject) => {
    let connected = raw !== undefined;
    let settled = false;
    const servername = /^[\d.:]+$/.test(host) ? undefined : host;
    const socket = tlsConnect(
      {
        host,
        port,
        rejectUnauthorized: false,
        ...(servername === undefined ? {} : { servername }),
        ...(raw === undefined ? {} : { socket: raw }),
      },
      () => finish({ tls: true, fingerprint: certificateFingerprint(socket.getPeerCertificate().raw) }),
    );
    const finish = (outcome: RegistryTransportProbe | Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const timer = setTimeout(
      () =>
        finish(
          connected
            ? { tls: false }
            : dirError(DirErrorCode.TIMEOUT, `connecting to ${host}:${port} timed out`),
        ),
      timeoutMs,
    );
    socket.once('connect', () => {
      connected = true;
    });
    socket.on('error', (error) =>
      finish(
        connected
          ? { tls: false }
          : dirError(
              DirErrorCode.CONNECTION,
              `cannot reach the registry at ${host}:${port}: ${error.message}`,
              error,
            ),
      ),
    );
    socket.on('close', () =>
      finish(connected ? { tls: false } : dirError(DirErrorCode.CONNECTION, 'registry connection closed')),
    );
  });
}
