import { Duplex } from 'node:stream';
import type { PilotError } from '@pilot/wire';

/** Largest data slice per IPC Send: well under the 1 MiB frame limit, small enough to interleave. */
export const SEND_SLICE_BYTES = 65_536;

/** What a connection needs from its driver: the IPC socket, seen through the connection's ID. */
export interface ConnectionLink {
  /**
   * Writes one Send; false when the socket is full. Throws when the driver is closed. With `flushed`
   * the bytes are not copied: `flushed` runs once the socket has written them.
   */
  send(connId: number, data: Uint8Array, flushed?: (error?: Error | null) => void): boolean;
  /** Sends Close for `connId` (the daemon answers CloseOK). */
  close(connId: number): void;
  /** Stop / restart reading the IPC socket while this connection's reader is full. */
  block(connection: PilotConnection): void;
  unblock(connection: PilotConnection): void;
  /** The connection is finished: forget its ID. */
  release(connId: number): void;
}

export interface ConnectionInfo {
  readonly connId: number;
  /** The peer, as `N:NNNN.HHHH.LLLL`. */
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Our virtual port: the bound port for an accepted connection, undefined for a dialled one. */
  readonly localPort?: number;
}

/**
 * A stream connection through the daemon, as a Node Duplex: writes become IPC Send frames (with the
 * socket's back-pressure), Recv frames are pushed to the reader (a full reader pauses the IPC socket),
 * `end()` sends Close, and the daemon's CloseOK (the reply, or unsolicited when the peer closed)
 * ends the readable side.
 */
export class PilotConnection extends Duplex {
  readonly connId: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localPort: number | undefined;
  readonly #link: ConnectionLink;
  #closeSent = false;
  #remoteEnded = false;

  constructor(link: ConnectionLink, info: ConnectionInfo) {
    super({ allowHalfOpen: true });
    this.#link = link;
    this.connId = info.connId;
    this.remoteAddress = info.remoteAddress;
    this.remotePort = info.remotePort;
    this.localPort = info.localPort;
  }

  /** Data from the daemon (Recv). */
  deliver(data: Uint8Array): void {
    if (this.#remoteEnded || this.destroyed) return;
    const chunk = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (!this.push(chunk)) this.#link.block(this);
  }

  /** CloseOK from the daemon: no more data will arrive. */
  remoteClosed(): void {
    if (this.#remoteEnded) return;
    this.#remoteEnded = true;
    this.#link.unblock(this);
    if (!this.destroyed) this.push(null);
    if (this.writableFinished) this.#link.release(this.connId);
  }

  /** The driver is closing: end quietly (no error event nobody asked for). */
  abandon(): void {
    this.#closeSent = true;
    this.#remoteEnded = true;
    this.destroy();
  }

  /** The IPC connection is gone. */
  lost(error: PilotError): void {
    this.#closeSent = true;
    this.#remoteEnded = true;
    this.destroy(error);
  }

  override _read(): void {
    this.#link.unblock(this);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    // The chunk's bytes go to the socket as they are (no frame copied per slice); the caller may
    // reuse its buffer after the callback, so that waits until the socket has written the last
    // slice (writes complete in order), which is also the back-pressure.
    if (chunk.length === 0) {
      callback();
      return;
    }
    let done = false;
    const flushed = (error?: Error | null): void => {
      if (done) return;
      done = true;
      callback(error);
    };
    try {
      for (let offset = 0; offset < chunk.length; offset += SEND_SLICE_BYTES) {
        const end = offset + SEND_SLICE_BYTES;
        this.#link.send(this.connId, chunk.subarray(offset, end), end >= chunk.length ? flushed : undefined);
      }
    } catch (error) {
      flushed(error as Error);
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#sendClose();
    if (this.#remoteEnded) this.#link.release(this.connId);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#sendClose();
    this.#link.unblock(this);
    this.#link.release(this.connId);
    callback(error);
  }

  #sendClose(): void {
    if (this.#closeSent) return;
    this.#closeSent = true;
    try {
      this.#link.close(this.connId);
    } catch {
      // The driver is closed: the daemon closes every connection of a client that goes away.
    }
  }
}
