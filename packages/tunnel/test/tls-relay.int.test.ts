// The relay over WebSocket-over-TLS from the tunnel's side, on loopback with real sockets: a beacon
// with its TLS relay, `--transport tcp` (every peer on relay-tls), and `auto` with UDP filtered (the
// relay moves to TLS, then back to UDP and on to a direct path mid-stream, the stream intact).
import { createSelfSignedCertificate } from '@pilot/directory/server';
import { TlsRelayServer } from '@pilot/nat';
import { seededRandom } from '@pilot/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TlsRelayOptions } from '../src/index.js';
import { Firewall, MiB, sha256, transfer, until, useTunnelNodes } from './helpers.js';

const { node, rendezvous } = useTunnelNodes();
const certificate = createSelfSignedCertificate();
let relay: TlsRelayServer | undefined;
let firewalls: Firewall[] = [];

beforeAll(async () => {
  relay = await TlsRelayServer.start({
    host: '127.0.0.1',
    port: 0,
    tls: { key: certificate.key, cert: certificate.cert },
    beacon: rendezvous().beacon,
    nodeKey: (id) => rendezvous().nodeKey(id),
  });
});
afterAll(async () => {
  await relay?.close();
});
afterEach(() => {
  for (const firewall of firewalls) firewall.restore();
  firewalls = [];
});

function tlsRelay(): TlsRelayOptions {
  return { host: '127.0.0.1', port: relay?.address().port ?? 0, tls: { pin: certificate.fingerprint } };
}

describe('the relay over TLS', () => {
  it('--transport tcp: every peer on relay-tls, streams intact, frames sealed end to end', async () => {
    const [a, b] = [
      await node({ tlsRelay: tlsRelay(), transportMode: 'tcp' }),
      await node({ tlsRelay: tlsRelay(), transportMode: 'tcp' }),
    ];
    const info = await a.manager.ensureTunnel(b.nodeId, { timeoutMs: 10_000 });
    expect(info).toMatchObject({ relay: true, path: 'relay-tls', encrypted: true, authenticated: true });
    expect(info.endpoint).toBe(`tls://127.0.0.1:${relay?.address().port}`);
    const payload = seededRandom(11).bytes(4 * MiB);
    const received = await transfer(a, b, payload);
    expect(sha256(received)).toBe(sha256(payload));
    expect(b.manager.peer(a.nodeId)).toMatchObject({ path: 'relay-tls' });
    expect(a.manager.stats.relay_tls_sent).toBeGreaterThan(0);
    // Nothing went by the beacon's UDP relay, nor directly.
    expect(a.manager.stats.relay_sent ?? 0).toBe(0);
    expect(a.manager.tlsRelay).toMatchObject({ mode: 'tcp', active: true, up: true });
  });

  it('auto: UDP unanswered moves the relay to TLS; UDP back moves the tunnel to UDP and direct mid-stream', async () => {
    const a = await node({ tlsRelay: tlsRelay(), directTimeoutMs: 300, directRetryMs: 500 });
    const b = await node({ directTimeoutMs: 300, directRetryMs: 500 });
    expect(a.manager.tlsRelay).toMatchObject({ mode: 'auto', active: false });
    // Nothing reaches a's UDP socket any more (the beacon's answers included).
    const wall = new Firewall(a.manager.socket!, []);
    firewalls.push(wall);
    expect(await a.manager.probeUdp()).toBe(false);
    expect(a.manager.tlsRelay).toMatchObject({ active: true });
    const info = await a.manager.ensureTunnel(b.nodeId, { timeoutMs: 10_000 });
    expect(info.path).toBe('relay-tls');

    const payload = seededRandom(12).bytes(3 * MiB);
    let opened = false;
    const received = await transfer(a, b, payload, {
      chunk: 32 * 1024,
      pauseMs: 15,
      onChunk: (sent) => {
        if (!opened && sent >= 512 * 1024) {
          opened = true;
          wall.open();
        }
      },
    });
    expect(sha256(received)).toBe(sha256(payload));
    await until(() => a.manager.peer(b.nodeId)?.path === 'direct', 15_000, 'a direct path');
    expect(a.manager.tlsRelay).toMatchObject({ active: false, up: false });
    expect(a.manager.stats.relay_tls_sent).toBeGreaterThan(0);
    expect(a.manager.stats.tls_udp_restored).toBe(1);
    expect(a.events.map((event) => event.type)).toEqual(
      expect.arrayContaining(['tunnel.relay_tls', 'tunnel.udp_restored', 'tunnel.direct_restored']),
    );
  });
});
