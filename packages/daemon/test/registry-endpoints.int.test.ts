// A hostile registry record (or a peer announcing what it likes through a registry that relays it)
// names the endpoint a daemon sends its tunnel packets to. Host names and, from a registry not on
// loopback, our own loopback must be refused: no DNS lookup of a name the registry chose, no packets
// at 127.0.0.1. Our registry no longer relays an announced host (it hands out the connection's IP,
// as the reference does), so the registry here is a hostile one that does.
import { createSocket, type Socket } from 'node:dgram';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import {
  type DirectoryServer,
  RegistryHandler,
  type Reply,
  type RequestOrigin,
  startDirectoryServer,
} from '@pilot/directory/server';
import { SqliteDirectoryStore } from '@pilot/directory/sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Daemon, DaemonOptions } from '../src/index.js';
import { startDaemon } from '../src/index.js';
import { parseRegistryEndpoint, registryEndpointPolicy } from '../src/registry-endpoint.js';
import { address, IpcTestClient, nodeOptions, TestRendezvous, tempDir } from './helpers.js';

// net.Socket's destroy path touches process.stderr: open it before the leak check's baseline.
void process.stderr;

const dir = tempDir('pilot-daemon-registry-endpoints-');
let rdv: TestRendezvous;
const daemons: Daemon[] = [];
const clients: IpcTestClient[] = [];
const canaries: Socket[] = [];

beforeAll(async () => {
  rdv = await TestRendezvous.start(dir.path);
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(daemons.map((daemon) => daemon.close()));
  await Promise.all(canaries.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  await rdv.close();
  dir.cleanup();
});

/** A UDP socket on 127.0.0.1 counting what reaches it: where a hostile record aims the daemon. */
async function canary(): Promise<{ port: number; received: () => number }> {
  const socket = createSocket('udp4');
  canaries.push(socket);
  let count = 0;
  socket.on('message', () => {
    count += 1;
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, received: () => count };
}

/**
 * A hostile registry: ours, but handing out each node's announced `listen_addr` verbatim as its
 * `real_addr` (as ours did before it took the host from the registration's connection).
 */
class VerbatimRegistry extends RegistryHandler {
  override handle(request: Parameters<RegistryHandler['handle']>[0], origin?: RequestOrigin): Reply {
    const reply = super.handle(request, origin);
    const announced =
      typeof reply.node_id === 'number' ? this.store.getNode(reply.node_id)?.listenAddr : undefined;
    if ((reply.type === 'resolve_ok' || reply.type === 'lookup_ok') && typeof reply.real_addr === 'string')
      reply.real_addr = announced ?? reply.real_addr;
    return reply;
  }
}

/** The hostile registry on `host`, with a store of its own; `close()` after the daemons on it. */
async function hostileRegistry(
  host: string,
  name: string,
): Promise<{ registry: string; close(): Promise<void> }> {
  const store = new SqliteDirectoryStore({ path: join(dir.path, `${name}.db`) });
  let server: DirectoryServer;
  try {
    server = await startDirectoryServer({
      handler: new VerbatimRegistry(store),
      host,
      port: 0,
      verifyWorkers: 0,
    });
  } catch (error) {
    store.close();
    throw error;
  }
  return {
    registry: `${host}:${server.port}`,
    async close() {
      await server.close();
      store.close();
    },
  };
}

/** A test daemon without a beacon (no relay path to wait out), registry as given. */
async function node(name: string, registry: string, extra: Partial<DaemonOptions>): Promise<Daemon> {
  const { beacon: _beacon, ...options } = nodeOptions(rdv, dir.path, name, {
    registry,
    dialTimeout: 3000,
    ...extra,
  });
  const daemon = await startDaemon(options);
  daemons.push(daemon);
  return daemon;
}

/** A dials B (public, so its record is resolvable) and the dial settles: ok or an error. */
async function dialSettles(from: Daemon, to: Daemon): Promise<string> {
  const c = await IpcTestClient.connect(from.socket);
  clients.push(c);
  const reply = await c.request({ type: 'dial', address: address(to), port: 7 }, 30_000);
  return reply.type;
}

describe('peer endpoints from the registry', () => {
  it('refuses a host name: no lookup, nothing sent to where it resolves', async () => {
    const hostile = await hostileRegistry('127.0.0.1', 'names');
    try {
      const target = await canary();
      // `localhost` resolves (through /etc/hosts) to the canary; the old daemon looked it up and sent PILAs there.
      const b = await node('rb-name', hostile.registry, {
        public: true,
        endpoint: `localhost:${target.port}`,
      });
      const a = await node('ra-name', hostile.registry, {});
      expect(await dialSettles(a, b)).toBe('error');
      expect(target.received()).toBe(0);
    } finally {
      // Daemons on this registry first, then the registry.
      for (const daemon of daemons.splice(-2)) await daemon.close();
      await hostile.close();
    }
  }, 60_000);

  const lan = Object.values(networkInterfaces())
    .flat()
    .find((entry) => entry !== undefined && entry.family === 'IPv4' && !entry.internal)?.address;

  it.skipIf(lan === undefined)(
    'refuses loopback from a registry that is not on loopback',
    async () => {
      // Served on a non-loopback address, as a remote registry would be.
      const hostile = await hostileRegistry(lan as string, 'remote');
      try {
        const target = await canary();
        const b = await node('rb-loop', hostile.registry, {
          public: true,
          endpoint: `127.0.0.1:${target.port}`,
        });
        const a = await node('ra-loop', hostile.registry, {});
        expect(await dialSettles(a, b)).toBe('error');
        expect(target.received()).toBe(0);
      } finally {
        for (const daemon of daemons.splice(-2)) await daemon.close();
        await hostile.close();
      }
    },
    60_000,
  );
});

describe('parseRegistryEndpoint', () => {
  const remote = registryEndpointPolicy('203.0.113.7:9000');
  const local = registryEndpointPolicy('127.0.0.1:9000,localhost:9001');

  it('takes IP literals with a port', () => {
    expect(parseRegistryEndpoint('198.51.100.4:4000', remote)).toEqual({
      address: '198.51.100.4',
      port: 4000,
    });
    expect(parseRegistryEndpoint('[2001:DB8::1]:4000', remote)).toEqual({
      address: '2001:db8::1',
      port: 4000,
    });
    expect(parseRegistryEndpoint('[::ffff:198.51.100.4]:1', remote)).toEqual({
      address: '198.51.100.4',
      port: 1,
    });
    expect(parseRegistryEndpoint('127.0.0.1:4000', local)).toEqual({ address: '127.0.0.1', port: 4000 });
  });

  it.each([
    'example.com:4000',
    'localhost:4000',
    ':4000',
    '198.51.100.4',
    '198.51.100.4:0',
    '198.51.100.4:65536',
    '198.51.100.4:99999',
    '[fe80::1%eth0]:4000',
    '198.51.100.4:4000\n',
    ' 198.51.100.4:4000',
    '127.0.0.1:4000',
    '127.1.2.3:4000',
    '[::1]:4000',
    '[::ffff:127.0.0.1]:4000',
    '0.0.0.0:4000',
    '[::]:4000',
  ])('refuses %j from a remote registry', (text) => {
    expect(() => parseRegistryEndpoint(text, remote)).toThrow(
      expect.objectContaining({ code: 'DAEMON_REGISTRY_BAD_ENDPOINT' }),
    );
  });

  it('knows a loopback registry', () => {
    expect(local.allowLoopback).toBe(true);
    expect(remote.allowLoopback).toBe(false);
    expect(registryEndpointPolicy('127.0.0.1:9000,203.0.113.7:9000').allowLoopback).toBe(false);
    expect(() => parseRegistryEndpoint('localhost:4000', local)).toThrow();
  });
});
