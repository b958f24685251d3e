import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPilotError } from '@pilot/wire';
import { afterEach, describe, expect, it } from 'vitest';
import { createSigner, DirErrorCode, DirectoryClient } from '../src/index.js';
import { RawPeer, type RunningServer, runServer } from './tcp-helpers.js';

let running: RunningServer | undefined;
const clients: DirectoryClient[] = [];
const peers: RawPeer[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const peer of peers.splice(0)) peer.close();
  await running?.close();
  running = undefined;
});

async function client(
  port: number,
  extra: Partial<Parameters<typeof DirectoryClient.connect>[0]> = {},
): Promise<DirectoryClient> {
  const c = await DirectoryClient.connect({ host: '127.0.0.1', port, ...extra });
  clients.push(c);
  return c;
}

async function raw(port: number): Promise<RawPeer> {
  const peer = await RawPeer.open(port);
  peers.push(peer);
  return peer;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isPilotError(error)) return error.code;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('TCP server and client', () => {
  it('registers two nodes, looks one up, and maps error replies to codes', async () => {
    running = await runServer();
    const c = await client(running.server.port);
    const alice = createSigner();
    const bob = createSigner();
    const a = await c.register(alice, { listenAddr: ':4000', hostname: 'alice' });
    const b = await c.register(bob, { listenAddr: ':4001' });
    expect([a.nodeId, b.nodeId]).toEqual([1, 2]);
    expect(a.observedAddr).toMatch(/^127\.0\.0\.1:\d+$/);
    const info = await c.lookup(a.nodeId);
    expect(info).toMatchObject({ nodeId: 1, hostname: 'alice', public: false, address: '0:0000.0000.0001' });
    expect(await c.resolveHostname('alice', a.nodeId)).toMatchObject({ nodeId: 1 });
    expect(await codeOf(c.resolve(bob, b.nodeId, a.nodeId))).toBe(DirErrorCode.RESOLVE_DENIED);
    await c.setVisibility(alice, a.nodeId, true);
    expect((await c.resolve(bob, b.nodeId, a.nodeId)).realAddr).toBe('127.0.0.1:4000');
    await c.setTags(alice, a.nodeId, ['weather.metar']);
    expect((await c.find({ tags: ['weather.metar'] })).results.map((r) => r.nodeId)).toEqual([1]);
    expect(await c.heartbeat(alice, a.nodeId)).toBeGreaterThan(1_600_000_000);
    expect(await codeOf(c.setHostname(bob, a.nodeId, 'mallory'))).toBe(DirErrorCode.BAD_SIGNATURE);
    const net = await c.createNetwork(alice, a.nodeId, 'lab', 'token', 'lab-token-123');
    expect(await c.joinNetwork(bob, b.nodeId, net, { token: 'lab-token-123' })).toBe('1:0001.0000.0002');
    expect(await c.checkTrust(a.nodeId, b.nodeId)).toBe(true);
    await c.requestHandshake(bob, b.nodeId, a.nodeId, 'hello');
    expect((await c.pollHandshakes(alice, a.nodeId)).requests).toHaveLength(1);
    await c.beaconRegister('b1', '127.0.0.1:9001');
    expect(await c.beaconList()).toEqual([{ beaconId: 'b1', addr: '127.0.0.1:9001' }]);
    await c.deregister(bob, b.nodeId);
    expect(await codeOf(c.lookup(b.nodeId))).toBe(DirErrorCode.NOT_FOUND);
  });

  it('answers malformed JSON, wrong types and unknown types with typed errors and keeps the connection', async () => {
    running = await runServer();
    const peer = await raw(running.server.port);
    const bytes = (text: string) => {
      const body = new TextEncoder().encode(text);
      const out = new Uint8Array(4 + body.length);
      new DataView(out.buffer).setUint32(0, body.length);
      out.set(body, 4);
      return out;
    };
    peer.send(bytes('{not json'));
    expect((await peer.reply()).code).toBe(DirErrorCode.BAD_REQUEST);
    peer.send(bytes('[1,2,3]'));
    expect((await peer.reply()).code).toBe(DirErrorCode.BAD_REQUEST);
    peer.send(Uint8Array.of(0, 0, 0, 2, 0xff, 0xfe));
    expect((await peer.reply()).code).toBe(DirErrorCode.BAD_REQUEST);
    peer.sendJson({ type: 'lookup', node_id: 'one' });
    expect((await peer.reply()).code).toBe(DirErrorCode.BAD_REQUEST);
    peer.sendJson({ type: 'drop_tables' });
    expect((await peer.reply()).code).toBe(DirErrorCode.UNKNOWN_TYPE);
    peer.sendJson({ type: 42 });
    expect((await peer.reply()).code).toBe(DirErrorCode.BAD_REQUEST);
    // Pipelined requests are answered in order.
    peer.sendJson({ type: 'beacon_list' });
    peer.sendJson({ type: 'list_networks' });
    expect((await peer.reply()).type).toBe('beacon_list_ok');
    expect((await peer.reply()).type).toBe('list_networks_ok');
    expect(peer.closed).toBe(false);
  });

  it('answers an oversized frame with DIR_TOO_LARGE, then closes; the server keeps serving', async () => {
    running = await runServer({ maxFrameSize: 1024 });
    const peer = await raw(running.server.port);
    peer.send(Uint8Array.of(0x00, 0x10, 0x00, 0x00, 1, 2, 3));
    expect((await peer.reply()).code).toBe(DirErrorCode.TOO_LARGE);
    await peer.waitClosed();
    const other = await raw(running.server.port);
    other.sendJson({ type: 'x'.repeat(1100) });
    expect((await other.reply()).code).toBe(DirErrorCode.TOO_LARGE);
    const fine = await raw(running.server.port);
    fine.sendJson({ type: 'beacon_list' });
    expect((await fine.reply()).type).toBe('beacon_list_ok');
    // A reference binary-mode opener ("PILT" + 0x01) reads as an absurd length: refused the same way.
    const binary = await raw(running.server.port);
    binary.send(Uint8Array.of(0x50, 0x49, 0x4c, 0x54, 0x01));
    expect((await binary.reply()).code).toBe(DirErrorCode.TOO_LARGE);
  });

  it('rate-limits per connection and per source', async () => {
    running = await runServer({
      connectionRate: { perSecond: 1, burst: 3 },
      sourceRate: { perSecond: 1, burst: 5 },
    });
    const peer = await raw(running.server.port);
    for (let i = 0; i < 5; i++) peer.sendJson({ type: 'beacon_list' });
    const codes = [];
    for (let i = 0; i < 5; i++) codes.push((await peer.reply()).code ?? 'ok');
    expect(codes).toEqual(['ok', 'ok', 'ok', DirErrorCode.RATE_LIMITED, DirErrorCode.RATE_LIMITED]);
    const second = await raw(running.server.port);
    for (let i = 0; i < 3; i++) second.sendJson({ type: 'beacon_list' });
    const more = [];
    for (let i = 0; i < 3; i++) more.push((await second.reply()).code ?? 'ok');
    // The source had 5 tokens: 3 spent by the first connection, 2 left for the second.
    expect(more).toEqual(['ok', 'ok', DirErrorCode.RATE_LIMITED]);
  });

  it('limits connections per source', async () => {
    running = await runServer({ maxConnectionsPerSource: 1 });
    const first = await raw(running.server.port);
    const second = await raw(running.server.port);
    await second.waitClosed();
    first.sendJson({ type: 'beacon_list' });
    expect((await first.reply()).type).toBe('beacon_list_ok');
  });

  it('gives up on a silent server at the request deadline', async () => {
    const sockets = new Set<import('node:net').Socket>();
    const silent: Server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const c = await client(port, { requestTimeoutMs: 200 });
      expect(await codeOf(c.lookup(1))).toBe(DirErrorCode.TIMEOUT);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('reconnects after the server restarts, and re-signs the retried request', async () => {
    running = await runServer();
    const port = running.server.port;
    const c = await client(port, { reconnectBaseDelayMs: 50 });
    const signer = createSigner();
    const { nodeId } = await c.register(signer);
    await running.server.close();
    const store = running.store;
    const { RegistryHandler, startDirectoryServer } = await import('../src/index.js');
    const server = await startDirectoryServer({
      handler: new RegistryHandler(store),
      port,
      reapIntervalMs: 0,
    });
    running = {
      server,
      store,
      handler: running.handler,
      close: async () => {
        await server.close();
        store.close();
      },
    };
    expect(await c.heartbeat(signer, nodeId)).toBeGreaterThan(0);
    expect((await c.lookup(nodeId)).nodeId).toBe(nodeId);
  });

  it('fails cleanly when nothing listens', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    expect(
      await codeOf(
        DirectoryClient.connect({ host: '127.0.0.1', port, reconnectAttempts: 2, reconnectBaseDelayMs: 10 }),
      ),
    ).toBe(DirErrorCode.CONNECTION);
  });
});

let opensslWorks = false;
let tlsDir = '';
try {
  tlsDir = mkdtempSync(join(tmpdir(), 'pilot-dir-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-subj',
      '/CN=registry.test',
      '-days',
      '1',
      '-keyout',
      join(tlsDir, 'key.pem'),
      '-out',
      join(tlsDir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  opensslWorks = true;
} catch {
  opensslWorks = false;
}

describe.skipIf(!opensslWorks)('TLS with certificate pinning', () => {
  afterEach(() => {});
  it('connects when the pin matches and refuses before sending anything when it does not', async () => {
    const key = readFileSync(join(tlsDir, 'key.pem'));
    const cert = readFileSync(join(tlsDir, 'cert.pem'));
    const pin = new X509Certificate(cert).fingerprint256;
    running = await runServer({ tls: { key, cert } });
    const c = await client(running.server.port, { tls: { pin } });
    const signer = createSigner();
    expect((await c.register(signer)).nodeId).toBe(1);
    const wrong = 'ab'.repeat(32);
    expect(
      await codeOf(
        DirectoryClient.connect({ host: '127.0.0.1', port: running.server.port, tls: { pin: wrong } }),
      ),
    ).toBe(DirErrorCode.PIN_MISMATCH);
    // Without a pin, the self-signed certificate fails ordinary verification.
    expect(
      await codeOf(
        DirectoryClient.connect({
          host: '127.0.0.1',
          port: running.server.port,
          tls: {},
          reconnectAttempts: 1,
        }),
      ),
    ).toBe(DirErrorCode.CONNECTION);
    rmSync(tlsDir, { recursive: true, force: true });
  });
});
