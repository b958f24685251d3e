import { connect, type Socket } from 'node:net';
import { decodeJsonMessage, encodeFrame, FrameDecoder } from '@pilot/wire';
import {
  type DirectoryServer,
  type DirectoryServerOptions,
  RegistryHandler,
  type RegistryOptions,
  SqliteDirectoryStore,
  startDirectoryServer,
} from '../src/index.js';

// node:net's Socket._destroy compares the socket with process.stderr, and that getter opens the
// stderr pipe on first use. Opening it at import, before the leak check takes its baseline, keeps
// this one-off pipe from being counted as a handle the test leaked.
void process.stderr;

export type RunningServer = {
  server: DirectoryServer;
  store: SqliteDirectoryStore;
  handler: RegistryHandler;
  close(): Promise<void>;
};

export async function runServer(
  options: Partial<DirectoryServerOptions> = {},
  registry: RegistryOptions = {},
  path = ':memory:',
): Promise<RunningServer> {
  const store = new SqliteDirectoryStore({ path });
  const handler = new RegistryHandler(store, registry);
  const server = await startDirectoryServer({ handler, port: 0, reapIntervalMs: 0, ...options });
  return {
    server,
    store,
    handler,
    async close() {
      await server.close();
      store.close();
    },
  };
}

/** A raw socket that sends arbitrary bytes and reads reply frames, for hostile-input tests. */
export class RawPeer {
  readonly socket: Socket;
  readonly #decoder = new FrameDecoder(1 << 22);
  readonly #replies: Record<string, unknown>[] = [];
  #waiters: (() => void)[] = [];
  closed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      for (const frame of this.#decoder.push(chunk)) this.#replies.push(decodeJsonMessage(frame));
      this.#wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
    socket.on('error', () => {});
  }

  static open(port: number): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port }, () => resolve(new RawPeer(socket)));
      socket.once('error', reject);
    });
  }

  send(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  sendJson(value: unknown): void {
    this.send(encodeFrame(new TextEncoder().encode(JSON.stringify(value)), 1 << 22));
  }

  async reply(): Promise<Record<string, unknown>> {
    while (this.#replies.length === 0) {
      if (this.closed) throw new Error('closed before a reply');
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    return this.#replies.shift()!;
  }

  async waitClosed(): Promise<void> {
    while (!this.closed) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  close(): void {
    this.socket.destroy();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
