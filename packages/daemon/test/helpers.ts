import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DirectoryServer, RegistryHandler, startDirectoryServer } from '@pilot/directory/server';
import { SqliteDirectoryStore } from '@pilot/directory/sqlite';
import { Beacon } from '@pilot/nat';
import { decodeIpcMessage, encodeIpcFrame, FrameDecoder, type IpcMessage } from '@pilot/wire';
import { type Daemon, type DaemonOptions, startDaemon } from '../src/index.js';

/** A temp directory removed by `cleanup()`. */
export function tempDir(prefix: string): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** The rendezvous as a test needs it: the real registry on a SQLite file, and a real beacon, on loopback. */
export class TestRendezvous {
  readonly dir: string;
  store: SqliteDirectoryStore;
  server: DirectoryServer;
  readonly beacon: Beacon;

  private constructor(dir: string, store: SqliteDirectoryStore, server: DirectoryServer, beacon: Beacon) {
    this.dir = dir;
    this.store = store;
    this.server = server;
    this.beacon = beacon;
  }

  static async start(dir: string): Promise<TestRendezvous> {
    const store = new SqliteDirectoryStore({ path: join(dir, 'registry.db') });
    const server = await startDirectoryServer({
      handler: new RegistryHandler(store),
      port: 0,
      verifyWorkers: 0,
    });
    const beacon = await Beacon.start({ host: '127.0.0.1', port: 0 });
    return new TestRendezvous(dir, store, server, beacon);
  }

  get registry(): string {
    return `127.0.0.1:${this.server.port}`;
  }

  get beaconAddress(): string {
    return `127.0.0.1:${this.beacon.address().port}`;
  }

  /** Stops the registry (not the beacon); `startRegistry` brings it back on the same port and file. */
  async stopRegistry(): Promise<void> {
    await this.server.close();
    this.store.close();
  }

  async startRegistry(): Promise<void> {
    const port = this.server.port;
    this.store = new SqliteDirectoryStore({ path: join(this.dir, 'registry.db') });
    this.server = await startDirectoryServer({
      handler: new RegistryHandler(this.store),
      port,
      verifyWorkers: 0,
    });
  }

  async close(): Promise<void> {
    await this.server.close();
    this.store.close();
    await this.beacon.close();
  }
}

/** Options for a test daemon: its own home and socket under `dir`, quick polls, quiet logs. */
export function nodeOptions(
  rdv: TestRendezvous,
  dir: string,
  name: string,
  extra: Partial<DaemonOptions> = {},
): DaemonOptions {
  return {
    home: join(dir, name),
    registry: rdv.registry,
    beacon: rdv.beaconAddress,
    listen: '127.0.0.1:0',
    socket: join(dir, `${name}.sock`),
    hostname: name,
    handshakePoll: 200,
    heartbeat: 2000,
    logLevel: 'error',
    ...extra,
  };
}

export function startNode(
  rdv: TestRendezvous,
  dir: string,
  name: string,
  extra: Partial<DaemonOptions> = {},
): Promise<Daemon> {
  return startDaemon(nodeOptions(rdv, dir, name, extra));
}

const REPLY_OF: Partial<Record<IpcMessage['type'], IpcMessage['type']>> = {
  bind: 'bindOk',
  dial: 'dialOk',
  close: 'closeOk',
  info: 'infoOk',
  handshake: 'handshakeOk',
  resolveHostname: 'resolveHostnameOk',
  setHostname: 'setHostnameOk',
  setVisibility: 'setVisibilityOk',
  deregister: 'deregisterOk',
  setTags: 'setTagsOk',
  setWebhook: 'setWebhookOk',
  network: 'networkOk',
  health: 'healthOk',
};

type Waiter = { match: (m: IpcMessage) => boolean; resolve: (m: IpcMessage) => void };

/** A raw IPC client speaking @pilot/wire frames: every message received is kept in `messages`. */
export class IpcTestClient {
  readonly socket: Socket;
  readonly messages: IpcMessage[] = [];
  readonly #decoder = new FrameDecoder();
  #waiters: Waiter[] = [];
  closed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      for (const frame of this.#decoder.push(chunk)) {
        const message = decodeIpcMessage(frame);
        // Copy data views: the chunk buffer is reused.
        const kept = 'data' in message ? { ...message, data: new Uint8Array(message.data) } : message;
        this.messages.push(kept as IpcMessage);
        const waiter = this.#waiters.find((w) => w.match(kept as IpcMessage));
        if (waiter !== undefined) {
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          waiter.resolve(kept as IpcMessage);
        }
      }
    });
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => {});
  }

  static connect(path: string): Promise<IpcTestClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(path);
      socket.once('connect', () => resolve(new IpcTestClient(socket)));
      socket.once('error', reject);
    });
  }

  send(message: IpcMessage): void {
    this.socket.write(encodeIpcFrame(message));
  }

  /** The next message (already received and not yet taken, or future) that matches. */
  next(match: (m: IpcMessage) => boolean, timeoutMs = 20_000): Promise<IpcMessage> {
    const index = this.messages.findIndex(match);
    if (index >= 0) return Promise.resolve(this.messages.splice(index, 1)[0] as IpcMessage);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(
          new Error(
            `no matching IPC message within ${timeoutMs} ms; got ${this.messages.map((m) => m.type).join(',')}`,
          ),
        );
      }, timeoutMs);
      const waiter: Waiter = {
        match,
        resolve: (m) => {
          clearTimeout(timer);
          const i = this.messages.indexOf(m);
          if (i >= 0) this.messages.splice(i, 1);
          resolve(m);
        },
      };
      this.#waiters.push(waiter);
    });
  }

  /** Sends a request and waits for its reply type or an Error. */
  request(message: IpcMessage, timeoutMs = 30_000): Promise<IpcMessage> {
    const replyType = REPLY_OF[message.type];
    this.send(message);
    return this.next((m) => m.type === replyType || m.type === 'error', timeoutMs);
  }

  /** A JSON request: resolves with the parsed JSON, rejects with the Error message (and its code). */
  async json(message: IpcMessage): Promise<Record<string, unknown>> {
    const reply = await this.request(message);
    if (reply.type === 'error') throw Object.assign(new Error(reply.message), { ipcCode: reply.code });
    if (!('json' in reply)) throw new Error(`unexpected reply ${reply.type}`);
    return JSON.parse(reply.json) as Record<string, unknown>;
  }

  /** All Recv data of a connection until its CloseOK. */
  async readAll(connId: number, timeoutMs = 60_000): Promise<Buffer> {
    const parts: Buffer[] = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = await this.next(
        (x) => (x.type === 'recv' || x.type === 'closeOk') && x.connId === connId,
        Math.max(1, deadline - Date.now()),
      );
      if (m.type === 'closeOk') return Buffer.concat(parts);
      if (m.type === 'recv') parts.push(Buffer.from(m.data));
    }
  }

  /** Recv data of a connection until at least `size` bytes arrived. */
  async read(connId: number, size: number, timeoutMs = 30_000): Promise<Buffer> {
    const parts: Buffer[] = [];
    let got = 0;
    const deadline = Date.now() + timeoutMs;
    while (got < size) {
      const m = await this.next(
        (x) => x.type === 'recv' && x.connId === connId,
        Math.max(1, deadline - Date.now()),
      );
      if (m.type === 'recv') {
        parts.push(Buffer.from(m.data));
        got += m.data.length;
      }
    }
    return Buffer.concat(parts);
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.destroy();
    });
  }
}

export function address(daemon: Daemon): { network: number; node: number } {
  return { network: 0, node: daemon.nodeId };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns true (or throws after `timeoutMs`). */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await sleep(50);
  }
}
