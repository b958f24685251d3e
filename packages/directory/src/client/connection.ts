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
  /** CA certificates to trust instead of the system's, when not pinning. */
  readonly ca?: string | Buffer;
  readonly servername?: string;
};

export type ConnectionOptions = {
  readonly host: string;
  readonly port: number;
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

  static open(options: ConnectionOptions): Promise<RegistryConnection> {
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
        socket = netConnect({ host: options.host, port: options.port }, ready);
      } else {
        const pin = tls.pin === undefined ? undefined : normalisePin(tls.pin);
        const servername = tls.servername ?? (/^[\d.:]+$/.test(options.host) ? undefined : options.host);
        const tlsOptions: TlsConnectOptions = {
          host: options.host,
          port: options.port,
          rejectUnauthorized: pin === undefined,
          ...(servername === undefined ? {} : { servername }),
          ...(tls.ca === undefined ? {} : { ca: tls.ca }),
        };
        const tlsSocket: TLSSocket = tlsConnect(tlsOptions, () => {
          // Nothing has been written yet: a wrong certificate learns nothing from us.
          if (pin !== undefined && certificateFingerprint(tlsSocket.getPeerCertificate().raw) !== pin) {
            fail(
              dirError(
                DirErrorCode.PIN_MISMATCH,
                'registry certificate does not match the pinned fingerprint',
              ),
            );
            return;
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
