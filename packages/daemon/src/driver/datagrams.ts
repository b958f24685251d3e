import { AsyncQueue } from './async-queue.js';

export interface Datagram {
  /** The sender, as `N:NNNN.HHHH.LLLL`. */
  readonly source: string;
  readonly sourcePort: number;
  /** The port it was sent to (ours). */
  readonly port: number;
  readonly data: Uint8Array;
}

/** Datagrams are lossy by nature: beyond this many unread, new ones are dropped. */
const DATAGRAM_BACKLOG = 1024;

/** Every datagram the daemon reports (RecvFrom), optionally only those sent to one port. */
export class DatagramStream implements AsyncIterable<Datagram> {
  readonly #queue = new AsyncQueue<Datagram>(DATAGRAM_BACKLOG);
  readonly #port: number | undefined;
  readonly #onClose: (stream: DatagramStream) => void;
  #dropped = 0;

  constructor(port: number | undefined, onClose: (stream: DatagramStream) => void) {
    this.#port = port;
    this.#onClose = onClose;
  }

  /** Datagrams dropped because the reader fell behind. */
  get dropped(): number {
    return this.#dropped;
  }

  /** @internal */
  offer(datagram: Datagram): void {
    if (this.#port !== undefined && datagram.port !== this.#port) return;
    if (!this.#queue.put(datagram) && !this.#queue.ended) this.#dropped += 1;
  }

  /** @internal */
  failed(error: unknown): void {
    this.#queue.fail(error);
  }

  close(): void {
    if (this.#queue.ended) return;
    this.#queue.end();
    this.#onClose(this);
  }

  /** Leaving a `for await` loop early closes the stream. */
  [Symbol.asyncIterator](): AsyncIterator<Datagram> {
    return {
      next: () => this.#queue.next(),
      return: () => {
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
