import type { PilotError } from '@pilot/wire';
import { AsyncQueue } from './async-queue.js';
import type { PilotConnection } from './pilot-connection.js';

/** A connection that arrived on a bound port (IPC Accept). */
export type IncomingConnection = PilotConnection;

/** Accepted connections waiting for the application beyond this are closed at once. */
const ACCEPT_BACKLOG = 128;

/**
 * A bound virtual port: iterate it for incoming connections. The binding itself lasts until the
 * driver closes (the IPC protocol has no Unbind); `close()` stops the iteration and closes the
 * connections nobody took, and later arrivals on the port are refused.
 */
export class Listener implements AsyncIterable<IncomingConnection> {
  /** Resolves with the bound port once the daemon answers BindOK; rejects with its Error. */
  readonly ready: Promise<number>;
  readonly #queue = new AsyncQueue<IncomingConnection>(ACCEPT_BACKLOG);
  readonly #onClose: (listener: Listener) => void;
  #port: number;
  #settleReady!: { resolve(port: number): void; reject(error: PilotError): void };

  constructor(port: number, onClose: (listener: Listener) => void) {
    this.#port = port;
    this.#onClose = onClose;
    this.ready = new Promise((resolve, reject) => {
      this.#settleReady = { resolve, reject };
    });
    // A caller that only iterates learns of a failed Bind from next(); keep the promise from being unhandled.
    this.ready.catch(() => undefined);
  }

  /** The port asked for, then the one bound. */
  get port(): number {
    return this.#port;
  }

  get closed(): boolean {
    return this.#queue.ended;
  }

  /** @internal */
  bound(port: number): void {
    this.#port = port;
    this.#settleReady.resolve(port);
  }

  /** @internal The Bind failed, or the driver went away. */
  failed(error: PilotError): void {
    this.#settleReady.reject(error);
    this.#queue.fail(error);
    this.#onClose(this);
  }

  /** @internal False when the connection was refused (closed listener, full backlog). */
  offer(connection: IncomingConnection): boolean {
    return this.#queue.put(connection);
  }

  close(): Promise<void> {
    if (!this.#queue.ended) {
      for (const connection of this.#queue.end()) connection.destroy();
      this.#onClose(this);
    }
    return Promise.resolve();
  }

  /** Leaving a `for await` loop early (break, return, throw) closes the listener. */
  [Symbol.asyncIterator](): AsyncIterator<IncomingConnection> {
    return {
      next: () => this.#queue.next(),
      return: async () => {
        await this.close();
        return { value: undefined, done: true };
      },
    };
  }
}
