import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeIpcMessage, encodeIpcFrame, FrameDecoder, type IpcMessage } from '@pilot/wire';

/** One driver's connection as the fake daemon sees it. */
export class FakeClient {
  readonly socket: Socket;
  readonly received: IpcMessage[] = [];
  /** Raw frame payloads as received, for byte-exact checks. */
  readonly raw: Uint8Array[] = [];
  readonly #decoder = new FrameDecoder();
  readonly #waiters: Array<{ count: number; resolve(): void }> = [];

  constructor(socket: Socket, onMessage: (client: FakeClient, message: IpcMessage) => void) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      for (const payload of this.#decoder.push(chunk)) {
        this.raw.push(Uint8Array.from(payload));
        const message = decodeIpcMessage(payload);
        this.received.push(message);
        onMessage(this, message);
        for (const waiter of [...this.#waiters]) {
          if (this.received.length >= waiter.count) {
            this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
            waiter.resolve();
          }
        }
      }
    });
    socket.on('error', () => undefined);
  }

  send(...messages: IpcMessage[]): boolean {
    return this.socket.write(Buffer.concat(messages.map((message) => encodeIpcFrame(message))));
  }

  /** Resolves once `count` messages in all have arrived from the driver. */
  waitFor(count: number): Promise<void> {
    if (this.received.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }
}

/** A minimal IPC server built from the wire codecs; tests script its answers. */
export class FakeDaemon {
  readonly path: string;
  readonly clients: FakeClient[] = [];
  readonly #dir: string;
  readonly #server: Server;
  readonly #arrivals: Array<(client: FakeClient) => void> = [];
  onMessage: (client: FakeClient, message: IpcMessage) => void = () => undefined;

  private constructor(dir: string, server: Server) {
    this.#dir = dir;
    this.path = join(dir, 'pilot.sock');
    this.#server = server;
  }

  static async start(): Promise<FakeDaemon> {
    const dir = mkdtempSync(join(tmpdir(), 'pilot-driver-'));
    const server = createServer();
    const daemon = new FakeDaemon(dir, server);
    server.on('connection', (socket) => {
      const client = new FakeClient(socket, (c, m) => daemon.onMessage(c, m));
      daemon.clients.push(client);
      daemon.#arrivals.shift()?.(client);
    });
    await new Promise<void>((resolve) => server.listen(daemon.path, resolve));
    return daemon;
  }

  /** The next (or latest unclaimed) driver connection. */
  nextClient(): Promise<FakeClient> {
    return new Promise((resolve) => this.#arrivals.push(resolve));
  }

  async close(): Promise<void> {
    for (const client of this.clients) client.socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
