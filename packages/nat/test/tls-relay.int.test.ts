// The TLS relay with real sockets: a beacon, its WebSocket-over-TLS relay, nodes on TLS links and a
// node on UDP, and (where tinyproxy is installed) a link through a real HTTP CONNECT proxy.
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { generateIdentity, type Identity } from '@pilot/crypto';
import { freeTcpPort, startTinyproxy, tinyproxyUnavailable } from '@pilot/testkit';
import { decodeBeaconMessage, encodeBeaconMessage } from '@pilot/wire';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Beacon,
  encodeDiscoverProof,
  NatErrorCode,
  TlsRelayLink,
  type TlsRelayLinkOptions,
  TlsRelayServer,
} from '../src/index.js';
import { addressOf, closeAll, collect, send, udp, until } from './helpers.js';

const cert = readFileSync(new URL('./fixtures/relay-cert.pem', import.meta.url), 'utf8');
const key = readFileSync(new URL('./fixtures/relay-key.pem', import.meta.url), 'utf8');
const pin = new X509Certificate(cert).fingerprint256.replace(/:/g, '').toLowerCase();

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function relayWith(keys: Map<number, Identity>, extra: { maxConnectionsPerIp?: number } = {}) {
  const beacon = await Beacon.start({
    host: '127.0.0.1',
    port: 0,
    nodeKey: (node) => keys.get(node)?.publicKey,
  });
  const relay = await TlsRelayServer.start({
    host: '127.0.0.1',
    port: 0,
    tls: { key, cert },
    beacon,
    nodeKey: (node) => keys.get(node)?.publicKey,
    helloTimeoutMs: 2000,
    ...extra,
  });
  cleanups.push(() => beacon.close());
  cleanups.push(() => relay.close());
  return { beacon, relay };
}

function link(
  relay: TlsRelayServer,
  identity: Identity,
  node: number,
  more: Partial<TlsRelayLinkOptions> = {},
): { link: TlsRelayLink; got: Array<{ source: number; frame: Uint8Array }> } {
  const got: Array<{ source: number; frame: Uint8Array }> = [];
  const made = new TlsRelayLink({
    host: '127.0.0.1',
    port: relay.address().port,
    identity,
    node,
    tls: { pin },
    connectTimeoutMs: 3000,
    reconnectMinMs: 100,
    onDeliver: (source, frame) => got.push({ source, frame: new Uint8Array(frame) }),
    ...more,
  });
  cleanups.push(() => made.close());
  return { link: made, got };
}

describe('the TLS relay', () => {
  it('relays between two TLS nodes and to and from a UDP node, frames untouched', async () => {
    const keys = new Map([1, 2, 3].map((node) => [node, generateIdentity()]));
    const { beacon, relay } = await relayWith(keys);
    const a = link(relay, keys.get(1) as Identity, 1);
    const b = link(relay, keys.get(2) as Identity, 2);
    await Promise.all([a.link.ready(5000), b.link.ready(5000)]);

    const frame = new Uint8Array(60_000).map((_, i) => i & 0xff);
    expect(a.link.send(2, frame)).toBe(true);
    await until(() => b.got.length === 1, 5000);
    expect(b.got[0]?.source).toBe(1);
    expect(b.got[0]?.frame).toEqual(frame);

    // Node 3 on UDP: a proven discover records it, then frames go both ways through the beacon.
    const c = await udp();
    cleanups.push(() => closeAll([c]));
    const seen = collect(c);
    const discover = new Uint8Array([
      ...encodeBeaconMessage({ type: 'discover', node: 3 }),
      ...encodeDiscoverProof(keys.get(3) as Identity, 3, Date.now()),
    ]);
    await send(c, discover, beacon.address());
    await until(() => seen.length === 1);
    await send(
      c,
      encodeBeaconMessage({ type: 'relay', source: 3, destination: 1, frame: Uint8Array.of(7, 7) }),
      beacon.address(),
    );
    await until(() => a.got.length === 1, 5000);
    expect(a.got[0]).toEqual({ source: 3, frame: Uint8Array.of(7, 7) });
    expect(a.link.send(3, Uint8Array.of(8))).toBe(true);
    await until(() => seen.length === 2, 5000);
    expect(decodeBeaconMessage(seen[1]?.bytes as Uint8Array)).toEqual({
      type: 'relayDeliver',
      source: 1,
      frame: Uint8Array.of(8),
    });
    expect(beacon.stats()).toMatchObject({ relayFromTls: 2, relayDeliveredTls: 2, relayDelivered: 1 });
    expect(relay.stats()).toMatchObject({ authenticated: 2, accepted: 2 });
    expect(addressOf(c).port).toBeGreaterThan(0);
  });

  it('refuses a node that cannot sign for its ID and a wrong certificate', async () => {
    const keys = new Map([1, 2].map((node) => [node, generateIdentity()]));
    const { relay } = await relayWith(keys);
    // Claims node 2 with node 1's key.
    const impostor = link(relay, keys.get(1) as Identity, 2, { reconnectMinMs: 10_000 });
    await expect(impostor.link.ready(3000)).rejects.toMatchObject({ code: NatErrorCode.TIMEOUT });
    expect(impostor.link.lastError).toMatch(/hello refused/);
    expect(relay.stats().refusedHandshakes).toBeGreaterThanOrEqual(1);

    const wrongPin = link(relay, keys.get(1) as Identity, 1, {
      tls: { pin: '00'.repeat(32) },
      reconnectMinMs: 10_000,
    });
    await expect(wrongPin.link.ready(3000)).rejects.toMatchObject({ code: NatErrorCode.TIMEOUT });
    expect(wrongPin.link.lastError).toMatch(/not the pinned/);
  });

  it('bounds connections per IP and answers plain HTTPS with 426', async () => {
    const keys = new Map([1, 2, 3].map((node) => [node, generateIdentity()]));
    const { relay } = await relayWith(keys, { maxConnectionsPerIp: 2 });
    const links = [1, 2, 3].map((node) =>
      link(relay, keys.get(node) as Identity, node, { reconnectMinMs: 10_000 }),
    );
    await Promise.all([links[0]?.link.ready(5000), links[1]?.link.ready(5000)]);
    await expect(links[2]?.link.ready(1500)).rejects.toMatchObject({ code: NatErrorCode.TIMEOUT });
    expect(relay.stats().refusedConnections).toBeGreaterThanOrEqual(1);
    links[0]?.link.close();
    links[1]?.link.close();
    await until(() => relay.stats().connections === 0, 5000);

    const answer = await new Promise<string>((resolve, reject) => {
      const socket = tlsConnect(
        { host: '127.0.0.1', port: relay.address().port, rejectUnauthorized: false },
        () => socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      );
      let text = '';
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1');
      });
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    expect(answer.startsWith('HTTP/1.1 426')).toBe(true);
  });

  it.skipIf(tinyproxyUnavailable() !== undefined)(
    'reaches the relay through a real HTTP CONNECT proxy with basic auth',
    async () => {
      const keys = new Map([1, 2].map((node) => [node, generateIdentity()]));
      const { relay } = await relayWith(keys);
      const dir = mkdtempSync(join(tmpdir(), 'pilot-proxy-'));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      const port = await freeTcpPort();
      const proxy = await startTinyproxy(dir, {
        listen: '127.0.0.1',
        port,
        allow: ['127.0.0.1'],
        connectPorts: [relay.address().port],
        auth: { user: 'agent', password: 's3cret' },
      });
      cleanups.push(async () => {
        await proxy.kill();
      });
      const refused = link(relay, keys.get(1) as Identity, 1, {
        proxy: { host: '127.0.0.1', port, auth: { user: 'agent', password: 'wrong' } },
        reconnectMinMs: 10_000,
      });
      await expect(refused.link.ready(3000)).rejects.toMatchObject({ code: NatErrorCode.TIMEOUT });
      expect(refused.link.lastError).toMatch(/refused CONNECT.*40[17]/);
      refused.link.close();

      const a = link(relay, keys.get(1) as Identity, 1, {
        proxy: { host: '127.0.0.1', port, auth: { user: 'agent', password: 's3cret' } },
      });
      const b = link(relay, keys.get(2) as Identity, 2);
      await Promise.all([a.link.ready(5000), b.link.ready(5000)]);
      for (let i = 0; i < 100; i++) a.link.send(2, Uint8Array.of(i));
      await until(() => b.got.length === 100, 5000);
      expect(b.got.map((entry) => entry.frame[0])).toEqual([...Array(100).keys()]);
    },
  );
});
