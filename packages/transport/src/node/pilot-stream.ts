import { Duplex } from 'node:stream';
import type { PilotError } from '@pilot/wire';
import type { Connection } from '../core/connection.js';
import { ConnectionState } from '../core/connection-state.js';
import type { Address } from '../wire.js';

/** What a stream needs from its driver. */
export interface StreamDriver {
  /** Something changed: run the endpoint soon. */
  schedule(): void;
  /**
   * Data was written: run the endpoint once the current synchronous work is done (writes of the
   * same turn still coalesce), without waiting a turn of the event loop. Falls back to `schedule`.
   */
  scheduleWrite?(): void;
}

/** Bytes gathered into one chunk for the readable side. */
const COALESCE = 64 * 1024;

interface PendingWrite {
  readonly chunk: Uint8Array;
  readonly handedOver: boolean;
  offset: number;
  readonly callback: (error?: Error | null) => void;
}

/**
 * A reliable stream as a Node `Duplex`. Back-pressure is real at both ends: a write that does not
 * fit the connection's send buffer holds its callback until acknowledgements free space (so
 * `write()` returns false and 'drain' follows), and bytes are taken from the connection only when
 * the readable side wants more, so a slow reader leaves them in the receive buffer and the
 * advertised window shrinks instead of memory growing.
 */
export class PilotStream extends Duplex {
  readonly connection: Connection;
  private readonly driver: StreamDriver;
  private pending: PendingWrite | undefined;
  /** Chunks given by writeHandedOver() that _write has not taken yet. */
  private readonly handedOver = new WeakSet<Uint8Array>();
  private wantRead = false;
  private ended = false;

  constructor(connection: Connection, driver: StreamDriver, highWaterMark: number = 64 * 1024) {
    super({
      allowHalfOpen: true,
      readableHighWaterMark: highWaterMark,
      writableHighWaterMark: highWaterMark,
    });
    this.connection = connection;
    this.driver = driver;
    connection.userData = this;
  }

  get remoteAddress(): Address {
    return this.connection.peer;
  }
  get remotePort(): number {
    return this.connection.remotePort;
  }
  get localPort(): number {
    return this.connection.localPort;
  }

  /**
   * `write()` for a chunk the caller hands over: it never modifies the bytes again (a buffer read
   * from a socket, a chunk this or another stream received), so the send buffer keeps them instead
   * of a copy. Back-pressure and the callback are those of `write()`.
   */
  writeHandedOver(chunk: Uint8Array, callback?: (error?: Error | null) => void): boolean {
    // A Buffer reaches _write as the same object (a plain Uint8Array would be wrapped anew).
    const buffer = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.handedOver.add(buffer);
    return this.write(buffer, callback);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.pending = { chunk, handedOver: this.handedOver.delete(chunk), offset: 0, callback };
    this.flushWrite();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.connection.close();
    this.driver.schedule();
    callback();
  }

  override _read(): void {
    this.wantRead = true;
    this.pump();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Streams destroy themselves once both sides ended (autoDestroy); a close already under way
    // (FIN sent) must then finish gracefully, not turn into a RST.
    const graceful = error === null && this.writableFinished;
    if (this.connection.state !== ConnectionState.CLOSED && !graceful) {
      this.connection.abort();
      this.driver.schedule();
    }
    const pending = this.pending;
    this.pending = undefined;
    pending?.callback(error ?? undefined);
    callback(error);
  }

  /** The driver calls this when the connection has bytes or reached the end. */
  onReadable(): void {
    this.pump();
  }

  /** The driver calls this when the send buffer has room again. */
  onWritable(): void {
    this.flushWrite();
  }

  /** The driver calls this when the connection is gone. */
  onClosed(error: PilotError | undefined): void {
    if (error !== undefined) {
      this.destroy(error);
      return;
    }
    this.pump();
    if (this.pending !== undefined) this.flushWrite();
  }

  private flushWrite(): void {
    const pending = this.pending;
    if (pending === undefined) return;
    let accepted: number;
    try {
      accepted = this.connection.write(pending.chunk.subarray(pending.offset), pending.handedOver);
    } catch (error) {
      this.pending = undefined;
      pending.callback(error as Error);
      return;
    }
    pending.offset += accepted;
    if (accepted > 0) {
      if (this.driver.scheduleWrite !== undefined) this.driver.scheduleWrite();
      else this.driver.schedule();
    }
    if (pending.offset >= pending.chunk.length) {
      this.pending = undefined;
      pending.callback();
    }
  }

  private pump(): void {
    if (this.ended) return;
    let took = false;
    while (this.wantRead) {
      const chunk = this.nextChunk();
      if (chunk === undefined) {
        if (this.connection.readEnded) {
          this.ended = true;
          this.push(null);
        }
        break;
      }
      took = true;
      if (!this.push(chunk)) this.wantRead = false;
    }
    // Reading may reopen the window: let the endpoint send the update.
    if (took) this.driver.schedule();
  }

  /**
   * The next in-order bytes, up to COALESCE of them in one chunk: one push (and one 'data' event)
   * per 64 KiB instead of one per segment, as a TCP socket delivers, at the cost of one copy.
   */
  private nextChunk(): Uint8Array | undefined {
    const first = this.connection.read(COALESCE);
    if (first === undefined || first.length >= COALESCE || this.connection.readableBytes === 0) return first;
    const parts = [first];
    let total = first.length;
    while (total < COALESCE) {
      const next = this.connection.read(COALESCE - total);
      if (next === undefined) break;
      parts.push(next);
      total += next.length;
    }
    return Buffer.concat(parts, total);
  }
}
