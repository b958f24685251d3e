import { createSocket } from 'node:dgram';
import { createAuthKeyExchange, generateIdentity, generateX25519KeyPair } from '@pilot/crypto';
import { seededRandom } from '@pilot/testkit';
import { describe, expect, it } from 'vitest';
import type { TunnelDirectory } from '../src/index.js';
import { sha256, sleep, transfer, until, useTunnelNodes } from './helpers.js';
import { parseUdpAddress, registryTunnelDirectory } from './registry-directory.js';

const { node } = useTunnelNodes();

describe('parseUdpAddress', () => {
  it('reads the registry forms and refuses the rest', () => {
    expect(parseUdpAddress('198.18.0.10:4000')).toEqual({ address: '198.18.0.10', port: 4000 });
    expect(parseUdpAddress('[::1]:9')).toEqual({ address: '::1', port: 9 });
    for (const bad of ['', 'host', '1.2.3.4:0', '1.2.3.4:70000', '1.2.3.4:x', '[::1]']) {
      expect(parseUdpAddress(bad)).toBeUndefined();
    }
  });
});

describe('TunnelManager details', () => {
  it('TUNNEL_BAD_KEY when the peer signs with a key the registry does not hold (re-fetched once)', async () => {
    const b = await node();
    let fetches = 0;
    const wrong = generateIdentity().publicKey;
    const directory: TunnelDirectory = {
      publicKey: async (id) => {
        if (id !== b.nodeId) return undefined;
        fetches++;
        return wrong;
      },
      resolve: async () => ({ endpoint: b.udp }),
    };
    const a = await node({ directory, useBeacon: false });
    await expect(a.manager.ensureTunnel(b.nodeId, { timeoutMs: 1500 })).rejects.toMatchObject({
      code: 'TUNNEL_BAD_KEY',
    });
    expect(a.manager.stats.drop_pila_bad_key).toBeGreaterThanOrEqual(1);
    // One fetch for the first check, one re-fetch on the mismatch (then cached).
    expect(fetches).toBeGreaterThanOrEqual(2);
  });

  it('a repeated PILA within 250 ms is debounced; the same PILA later is handled again', async () => {
    const peer = generateIdentity();
    const pila = createAuthKeyExchange(peer, 77, generateX25519KeyPair().publicKey);
    const a = await node({
      useBeacon: false,
      directory: {
        publicKey: async (id) => (id === 77 ? peer.publicKey : undefined),
        resolve: async () => ({}),
      },
    });
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    try {
      const send = () => socket.send(pila, a.udp.port, '127.0.0.1');
      send();
      await until(() => (a.manager.stats.pila_accepted ?? 0) >= 1, 5000, 'the first PILA');
      send();
      await until(() => (a.manager.stats.pila_debounced ?? 0) >= 1, 5000, 'the repeat debounced');
      expect(a.manager.stats.pila_accepted).toBe(1);
      await sleep(300);
      send();
      await until(() => (a.manager.stats.pila_accepted ?? 0) >= 2, 5000, 'the PILA after the window');
      expect(a.manager.stats.pila_debounced).toBe(1);
    } finally {
      socket.close();
    }
  });

  it('works with a map-backed directory and no beacon (direct only), accepting {host, port} too', async () => {
    const b = await node({ useBeacon: false });
    const keys = new Map([[b.nodeId, b.identity.publicKey]]);
    const a = await node({
      useBeacon: false,
      directory: {
        publicKey: async (id) => keys.get(id),
        resolve: async () => ({ endpoint: { address: '127.0.0.1', port: b.udp.port } }),
      },
    });
    keys.set(a.nodeId, a.identity.publicKey);
    const info = await a.manager.ensureTunnel(b.nodeId);
    expect(info).toMatchObject({ relay: false, endpoint: `127.0.0.1:${b.udp.port}` });
    const payload = seededRandom(20).bytes(128 * 1024);
    expect(sha256(await transfer(a, b, payload))).toBe(sha256(payload));
  });

  it('forget() drops keys and path; the next ensureTunnel re-keys even though the peer kept its keys', async () => {
    const [a, b] = [await node(), await node()];
    await a.manager.ensureTunnel(b.nodeId);
    a.manager.forget(b.nodeId);
    expect(a.manager.peer(b.nodeId)).toBeUndefined();
    expect(a.manager.reaches(b.nodeId)).toBe(false);
    const info = await a.manager.ensureTunnel(b.nodeId, { timeoutMs: 5000 });
    expect(info.authenticated).toBe(true);
    const payload = seededRandom(21).bytes(64 * 1024);
    expect(sha256(await transfer(a, b, payload))).toBe(sha256(payload));
  });

  it('a quiet but healthy peer is probed (PILK → PILA), not relayed', async () => {
    // A checks liveness often; B sends keepalives rarely: A sees silence and probes. (Silence is
    // 2.5 keepalives: 1.5 s, so the probe comes after B's one-PILA-a-second reply window of the
    // setup; B's punch command no longer makes it send PILAs for seconds, which hid this.)
    const a = await node({ keepaliveMs: 600, directTimeoutMs: 600 });
    const b = await node({ keepaliveMs: 60_000 });
    await a.manager.ensureTunnel(b.nodeId);
    await until(() => (a.manager.stats.path_lost ?? 0) >= 1, 10_000, 'a silent-path probe');
    await sleep(2000);
    expect(a.manager.peer(b.nodeId)?.relay).toBe(false);
    expect(a.manager.stats.path_repunch ?? 0).toBe(0);
    expect(a.manager.stats.relay_activated ?? 0).toBe(0);
  });

  it('a registry-backed directory resolves endpoints and keys', async () => {
    const [a, b] = [await node(), await node()];
    const directory = registryTunnelDirectory(a.client, a.signer, () => a.nodeId);
    expect(await directory.resolve(b.nodeId)).toMatchObject({ endpoint: b.udp });
    expect(
      Buffer.from((await directory.publicKey(b.nodeId)) ?? []).equals(Buffer.from(b.identity.publicKey)),
    ).toBe(true);
    expect(await directory.publicKey(0xfff_fff)).toBeUndefined();
  });

  it('close() is idempotent, rejects pending ensureTunnel calls and leaves the transport open', async () => {
    const a = await node();
    const b = await node();
    await b.manager.close();
    const pending = a.manager.ensureTunnel(b.nodeId, { timeoutMs: 20_000 });
    await sleep(100);
    await a.manager.close();
    await a.manager.close();
    await expect(pending).rejects.toMatchObject({ code: 'TUNNEL_CLOSED' });
    await expect(a.manager.ensureTunnel(b.nodeId)).rejects.toMatchObject({ code: 'TUNNEL_CLOSED' });
  });
});
