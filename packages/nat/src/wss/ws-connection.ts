import { randomFillSync } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { isPilotError } from '@pilot/wire';
import { NatErrorCode } from '../errors.js';
import { encodeWsClose, encodeWsFrame, WsFrameDecoder, type WsMessage, WsOpcode } from './ws-frame.js';

export interface WsConnectionOptions {
  /** A client masks what it sends and expects unmasked frames; a server the opposite. */
  readonly role: 'client' | 'server';
  /** Largest message accepted. */
  readonly maxMessage: number;
  /**
   * Bytes the socket may hold unsent before `send` drops a message (returns false). Bounded on
   * purpose: the tunnel's congestion control runs end to end above this link, and a lost datagram
   * is the signal it reacts to; an unbounded queue would only turn into delay (see the README).
   */
  readonly maxQueuedBytes: number;
  /** A ping is sent after this much silence from the other end; twice it without a byte closes. */
  readonly idleMs: number;
  /** Bytes the socket already read past the opening handshake. */
  readonly head?: Uint8Array | undefined;
}

export interface WsConnectionStats {
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Messages `send` dropped because the socket held more than maxQueuedBytes. */
  droppedQueueFull: number;
}

/**
 * One WebSocket over an already-open (TLS) socket, after the opening handshake: binary messages in
 * and out, pings answered, idle detection, the closing handshake. The owner listens through
 * `onMessage` / `onClose` and calls `close()` (or `destroy()`); the socket is ended by this class.
 */
export class WsConnection {
  readonly #socket: Duplex & { writableLength: number };
  readonly #role: 'client' | 'server';
  readonly #decoder: WsFrameDecoder;
  readonly #maxQueued: number;
  readonly #idleMs: number;
  readonly #masks = new Uint8Array(4096);
  #maskAt = 4096;
  #lastHeard = performance.now();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #closeSent = false;
  readonly stats: WsConnectionStats = {
    messagesIn: 0,
    messagesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    droppedQueueFull: 0,
  };
  onMessage: (data: Uint8Array) => void = () => {};
  /** Once, when the connection is gone (closing handshake, error, idle, protocol violation). */
  onClose: (reason: string) => void = () => {};

  constructor(socket: Duplex & { writableLength: number }, options: WsConnectionOptions) {
    this.#socket = socket;
    this.#role = options.role;
    this.#maxQueued = options.maxQueuedBytes;
    this.#idleMs = options.idleMs;
    this.#decoder = new WsFrameDecoder({
      expectMasked: options.role === 'server',
      maxMessage: options.maxMessage,
    });
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (error: Error) => this.#gone(`socket error: ${error.message}`));
    socket.on('close', () => this.#gone('socket closed'));
    this.#timer = setInterval(() => this.#tick(), Math.max(50, Math.floor(options.idleMs / 2)));
    this.#timer.unref?.();
    if (options.head !== undefined && options.head.length > 0)
      queueMicrotask(() => this.#onData(options.head as Uint8Array));
    socket.resume();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes written and not yet sent by the socket. */
  get queuedBytes(): number {
    return this.#socket.writableLength;
  }

  /** Sends one binary message; false when dropped (queue over its bound, or closed). */
  send(data: Uint8Array): boolean {
    if (this.#closed || this.#closeSent) return false;
    if (this.#socket.writableLength > this.#maxQueued) {
      this.stats.droppedQueueFull++;
      return false;
    }
    this.#write(WsOpcode.BINARY, data);
    this.stats.messagesOut++;
    this.stats.bytesOut += data.length;
    return true;
  }

  /** Starts the closing handshake; the socket ends when the other side answers (or after 1 s). */
  close(code = 1000, reason = ''): void {
    if (this.#closed) return;
    if (!this.#closeSent) {
      this.#closeSent = true;
      this.#write(WsOpcode.CLOSE, encodeWsClose(code, reason));
    }
    const timer = setTimeout(() => this.destroy(`closed (${code})`), 1000);
    timer.unref?.();
    this.#socket.once('close', () => clearTimeout(timer));
  }

  /** Drops the connection at once. */
  destroy(reason = 'destroyed'): void {
    this.#socket.destroy();
    this.#gone(reason);
  }

  #mask(): Uint8Array {
    if (this.#maskAt >= this.#masks.length) {
      randomFillSync(this.#masks);
      this.#maskAt = 0;
    }
    const mask = this.#masks.subarray(this.#maskAt, this.#maskAt + 4);
    this.#maskAt += 4;
    return mask;
  }

  #write(opcode: WsOpcode, payload: Uint8Array): void {
    this.#socket.write(encodeWsFrame(opcode, payload, this.#role === 'client' ? this.#mask() : undefined));
  }

  #onData(chunk: Uint8Array): void {
    if (this.#closed) return;
    this.#lastHeard = performance.now();
    let messages: WsMessage[];
    try {
      messages = this.#decoder.push(chunk);
    } catch (error) {
      const tooLarge = isPilotError(error) && error.code === NatErrorCode.WS_TOO_LARGE;
      this.close(tooLarge ? 1009 : 1002, tooLarge ? 'message too big' : 'protocol error');
      this.#gone(error instanceof Error ? error.message : String(error));
      return;
    }
    for (const message of messages) {
      if (this.#closed) return;
      switch (message.kind) {
        case 'binary':
          this.stats.messagesIn++;
          this.stats.bytesIn += message.data.length;
          this.onMessage(message.data);
          break;
        case 'text':
          // The relay speaks binary only.
          this.close(1003, 'binary only');
          this.#gone('text message');
          return;
        case 'ping':
          if (!this.#closeSent) this.#write(WsOpcode.PONG, message.data);
          break;
        case 'pong':
          break;
        case 'close':
          if (!this.#closeSent) {
            this.#closeSent = true;
            this.#write(
              WsOpcode.CLOSE,
              message.code === undefined ? new Uint8Array(0) : encodeWsClose(message.code),
            );
          }
          this.#socket.end();
          this.#gone(
            `closed by the other end (${message.code ?? 'no code'}${message.reason === '' ? '' : `: ${message.reason}`})`,
          );
          return;
      }
    }
  }

  #tick(): void {
    const silent = performance.now() - this.#lastHeard;
    if (silent > 2 * this.#idleMs) {
      this.destroy('idle: nothing heard');
      return;
    }
    if (silent > this.#idleMs && !this.#closeSent) this.#write(WsOpcode.PING, new Uint8Array(0));
  }

  #gone(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    // After a violation or a close the socket must not linger half-open.
    const socket = this.#socket;
    const kill = setTimeout(() => socket.destroy(), 1000);
    kill.unref?.();
    socket.once('close', () => clearTimeout(kill));
    if (socket.destroyed) clearTimeout(kill);
    this.onClose(reason);
  }
}
