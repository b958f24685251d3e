import { createHash } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateIdentity, type Identity } from '@pilot/crypto';
import { DirectoryClient, type DirectorySigner, signerFromIdentity } from '@pilot/directory/client';
import { type DirectoryServer, RegistryHandler, startDirectoryServer } from '@pilot/directory/server';
import { SqliteDirectoryStore } from '@pilot/directory/sqlite';
import { Beacon } from '@pilot/nat';
import { type PilotStream, UdpTransport } from '@pilot/transport/node';
import type { UdpAddress } from '@pilot/wire';
import { afterAll, afterEach, beforeAll } from 'vitest';
import {
  type TunnelDirectory,
  type TunnelEvent,
  TunnelManager,
  type TunnelManagerOptions,
} from '../src/index.js';
import { registryTunnelDirectory } from './registry-directory.js';

// node:net's Socket._destroy touches process.stderr, opening its pipe on first use: open it now,
// before the leak check's baseline.
void process.stderr;

export const MiB: number = 1024 * 1024;

/** A registry (real SQLite on a temp file) and a beacon, both on loopback. */
export class Rendezvous {
  readonly beacon: Beacon;
  readonly server: DirectoryServer;
  private readonly store: SqliteDirectoryStore;
  private readonly dir: string;

  private constructor(beacon: Beacon, server: DirectoryServer, store: SqliteDirectoryStore, dir: string) {
    this.beacon = beacon;
    this.server = server;
    this.store = store;
    this.dir = dir;
  }

  static async start(): Promise<Rendezvous> {
    const dir = mkdtempSync(join(tmpdir(), 'pilot-tunnel-'));
    const store = new SqliteDirectoryStore({ path: join(dir, 'registry.db') });
    const handler = new RegistryHandler(store);
    const server = await startDirectoryServer({ handler, host: '127.0.0.1', port: 0, reapIntervalMs: 0 });
    // Every test node shares 127.0.0.1, so the per-source limits are raised; relay carries streams.
    const beacon = await Beacon.start({
      host: '127.0.0.1',
      port: 0,
      sourceRate: { perSecond: 100_000, burst: 100_000 },
      relayPacketRate: { perSecond: 100_000, burst: 100_000 },
      relayByteRate: { perSecond: 256 * MiB, burst: 256 * MiB },
      relaySourcePacketRate: { perSecond: 100_000, burst: 100_000 },
      relaySourceByteRate: { perSecond: 256 * MiB, burst: 256 * MiB },
    });
    return new Rendezvous(beacon, server, store, dir);
  }

  /** The registry's Ed25519 key of a node (what the TLS relay checks hellos against). */
  nodeKey(node: number): Uint8Array | undefined {
    const record = this.store.getNode(node);
    return record === undefined ? undefined : new Uint8Array(Buffer.from(record.publicKey, 'base64'));
  }

  get beaconAddress(): UdpAddress {
    return { address: '127.0.0.1', port: this.beacon.address().port };
  }

  async close(): Promise<void> {
    await this.beacon.close();
    await this.server.close();
    this.store.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface NodeOptions extends Partial<Omit<TunnelManagerOptions, 'identity' | 'directory'>> {
  identity?: Identity;
  /** Replaces the registry-backed directory (unit tests). */
  directory?: TunnelDirectory;
  /** Use the beacon (default true). */
  useBeacon?: boolean;
}

/** One node: identity, registry client, a TunnelManager on loopback and a UdpTransport over it. */
export class TestNode {
  readonly identity: Identity;
  readonly signer: DirectorySigner;
  readonly manager: TunnelManager;
  readonly transport: UdpTransport<TunnelManager>;
  readonly client: DirectoryClient;
  readonly events: TunnelEvent[];
  nodeId: number;

  private constructor(
    identity: Identity,
    manager: TunnelManager,
    transport: UdpTransport<TunnelManager>,
    client: DirectoryClient,
    nodeId: number,
    events: TunnelEvent[],
  ) {
    this.events = events;
    this.identity = identity;
    this.signer = signerFromIdentity(identity);
    this.manager = manager;
    this.transport = transport;
    this.client = client;
    this.nodeId = nodeId;
  }

  static async start(rendezvous: Rendezvous, options: NodeOptions = {}): Promise<TestNode> {
    const identity = options.identity ?? generateIdentity();
    const signer = signerFromIdentity(identity);
    const client = await DirectoryClient.connect({ host: '127.0.0.1', port: rendezvous.server.port });
    let nodeId = 0;
    const events: TunnelEvent[] = [];
    const { useBeacon, directory, ...rest } = options;
    const manager = new TunnelManager({
      keepaliveMs: 1000,
      directTimeoutMs: 3000,
      ...rest,
      identity,
      directory: directory ?? registryTunnelDirectory(client, signer, () => nodeId),
      ...(useBeacon === false ? {} : { beacon: rendezvous.beaconAddress }),
      onEvent: (event) => events.push(event),
    });
    await manager.bind({ host: '127.0.0.1', port: 0 });
    const transport = await UdpTransport.create({ link: manager, localAddress: { network: 0, node: 0 } });
    manager.start(0);
    const registered = await client.register(signer, {
      listenAddr: `127.0.0.1:${manager.udpAddress.port}`,
      tunnelCapabilities: manager.advertisedCapabilities,
    });
    nodeId = registered.nodeId;
    await client.setVisibility(signer, nodeId, true);
    transport.endpoint.setLocalAddress({ network: 0, node: nodeId });
    manager.setNodeId(nodeId);
    await manager.discover();
    return new TestNode(identity, manager, transport, client, nodeId, events);
  }

  get address(): { network: number; node: number } {
    return { network: 0, node: this.nodeId };
  }

  get udp(): UdpAddress {
    return { address: '127.0.0.1', port: this.manager.udpAddress.port };
  }

  #closed: Promise<void> | undefined;

  /** Closes the node once (a case may stop it early; the file's hooks close it again). */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.transport.close();
      await this.manager.close();
      await this.client.close();
    })();
    return this.#closed;
  }
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function readAll(stream: PilotStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  // Not `for await (… of stream)`: its end destroys the whole Duplex, and our writes in flight with it.
  for await (const chunk of stream.iterator({ destroyOnReturn: false })) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function writeAll(
  stream: PilotStream,
  data: Uint8Array,
  options: { chunk?: number; pauseMs?: number; onChunk?: (sent: number) => void | Promise<void> } = {},
): Promise<void> {
  const chunk = options.chunk ?? 64 * 1024;
  for (let at = 0; at < data.length; at += chunk) {
    if (!stream.write(data.subarray(at, at + chunk))) await once(stream, 'drain');
    await options.onChunk?.(at + chunk);
    if (options.pauseMs !== undefined) await sleep(options.pauseMs);
  }
  stream.end();
}

/** Opens a stream from `from` to `to` (port 1000) and moves `payload` across; returns what arrived. */
export async function transfer(
  from: TestNode,
  to: TestNode,
  payload: Uint8Array,
  options: Parameters<typeof writeAll>[2] = {},
): Promise<Buffer> {
  to.transport.listen(1000);
  try {
    const accepted = once(to.transport, 'connection') as Promise<[PilotStream]>;
    const client = await from.transport.connect(to.address, 1000);
    const [server] = await accepted;
    // A finished stream may still see the peer's reset when the test tears the nodes down.
    for (const stream of [client, server]) stream.on('error', () => {});
    const [received] = await Promise.all([readAll(server), writeAll(client, payload, options)]);
    return received;
  } finally {
    to.transport.unlisten(1000);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 20 ms until it holds (or fails after `timeoutMs`). */
export async function until(condition: () => boolean, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/**
 * A simulated UDP filter in front of a node's socket: while closed, datagrams from anywhere but the
 * allowed addresses never reach the socket's listeners (a firewall that lets only the beacon in).
 * Test-only fault injection; the tunnel code is untouched.
 */
export class Firewall {
  private closed = true;
  private readonly socket: Socket;
  private readonly original: Socket['emit'];

  constructor(socket: Socket, allowed: readonly UdpAddress[]) {
    this.socket = socket;
    this.original = socket.emit;
    const original = this.original;
    const ports = new Set(allowed.map((a) => a.port));
    socket.emit = function (this: Socket, event: string | symbol, ...args: unknown[]): boolean {
      if (event === 'message') {
        const from = args[1] as RemoteInfo;
        if (firewall.closed && !ports.has(from.port)) return false;
      }
      return Reflect.apply(original, this, [event, ...args]) as boolean;
    } as Socket['emit'];
    const firewall = this;
  }

  open(): void {
    this.closed = false;
  }

  restore(): void {
    this.socket.emit = this.original;
  }
}

/** A bare UDP socket on loopback for hostile frames; `received` collects what comes back. */
export async function rawSocket(): Promise<{
  socket: Socket;
  received: Buffer[];
  send: (bytes: Uint8Array, to: UdpAddress) => void;
  close: () => Promise<void>;
}> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const received: Buffer[] = [];
  socket.on('message', (message: Buffer) => received.push(message));
  return {
    socket,
    received,
    send: (bytes, to) => socket.send(bytes, to.port, to.address),
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/**
 * One rendezvous for a test file and the nodes each case starts, closed after the case: the
 * returned `node()` starts a TestNode, `rendezvous()` is the running rendezvous.
 */
export function useTunnelNodes(): {
  rendezvous: () => Rendezvous;
  node: (options?: Parameters<typeof TestNode.start>[1]) => Promise<TestNode>;
} {
  let rendezvous: Rendezvous | undefined;
  let nodes: TestNode[] = [];
  beforeAll(async () => {
    rendezvous = await Rendezvous.start();
  });
  afterAll(async () => {
    await rendezvous?.close();
  });
  afterEach(async () => {
    await Promise.all(nodes.map((node) => node.close()));
    nodes = [];
  });
  const current = (): Rendezvous => {
    if (rendezvous === undefined) throw new Error('the rendezvous is not running');
    return rendezvous;
  };
  return {
    rendezvous: current,
    node: async (options = {}) => {
      const started = await TestNode.start(current(), options);
      nodes.push(started);
      return started;
    },
  };
}
