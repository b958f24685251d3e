// Forward secrecy between pilot-ts peers over real UDP sockets and a real registry: capabilities
// learned from the registry and the PILX, one session per direction pair, rekeying on the byte and
// time budgets in the middle of a stream, and the spec's static keys when either side does not
// offer forward secrecy (or is not known to be pilot-ts: then no PILX is ever sent).
import { seededRandom } from '@pilot/testkit';
import { describe, expect, it } from 'vitest';
import { sha256, transfer, until, useTunnelNodes } from './helpers.js';

const { node } = useTunnelNodes();

describe('forward secrecy between pilot-ts peers', () => {
  it('negotiates forward-secrecy (1 RTT, capabilities on both ends) and carries a stream', async () => {
    const [a, b] = [await node(), await node()];
    const info = await a.manager.ensureTunnel(b.nodeId);
    expect(info).toMatchObject({ forward_secret: true, capabilities: ['forward-secrecy'] });
    expect(a.manager.capabilities(b.nodeId).has('forward-secrecy')).toBe(true);
    expect(a.manager.capabilities(b.nodeId).has('large-datagrams')).toBe(false);
    const payload = seededRandom(60).bytes(256 * 1024);
    expect(sha256(await transfer(a, b, payload))).toBe(sha256(payload));
    await until(() => b.manager.peer(a.nodeId)?.forward_secret === true, 5000, 'b on the session');
    expect(b.events.some((e) => e.type === 'tunnel.capabilities')).toBe(true);
    expect(a.manager.stats.fs_sessions).toBe(1);
  });

  it('rekeys on the time budget and on the byte budget mid-stream, without breaking the stream', async () => {
    const rekey = { ms: 1500, bytes: 512 * 1024, graceMs: 500 };
    const [a, b] = [await node({ rekey }), await node({ rekey })];
    await a.manager.ensureTunnel(b.nodeId);
    const payload = seededRandom(61).bytes(3 * 1024 * 1024);
    expect(sha256(await transfer(a, b, payload))).toBe(sha256(payload));
    await until(
      () => (a.manager.stats.fs_rekeys_started ?? 0) + (b.manager.stats.fs_rekeys_started ?? 0) >= 2,
      10_000,
      'rekeys',
    );
    const rekeyed = (a.manager.stats.fs_rekeyed ?? 0) + (b.manager.stats.fs_rekeyed ?? 0);
    expect(rekeyed).toBeGreaterThanOrEqual(2);
    // Still one working session after the rekeys.
    const again = seededRandom(62).bytes(64 * 1024);
    expect(sha256(await transfer(b, a, again))).toBe(sha256(again));
  });

  it('a peer that turns forward secrecy off gets the static key; capabilities still known', async () => {
    const [a, b] = [await node(), await node({ forwardSecrecy: false })];
    const info = await a.manager.ensureTunnel(b.nodeId);
    expect(info.forward_secret).toBe(false);
    expect(a.manager.capabilities(b.nodeId)).toMatchObject({ known: true, peer: [] });
    const payload = seededRandom(63).bytes(64 * 1024);
    expect(sha256(await transfer(a, b, payload))).toBe(sha256(payload));
  });

  it('peers not known to be pilot-ts (as with a reference registry) exchange no PILX: spec PILA/PILS only', async () => {
    const a = await node();
    // b learns keys from a plain map (no registry capabilities), like a daemon on a reference registry,
    // and registers none itself.
    const keys = new Map([[a.nodeId, a.identity.publicKey]]);
    const b = await node({
      capabilities: [],
      useBeacon: false,
      directory: { publicKey: async (id) => keys.get(id), resolve: async () => ({ endpoint: a.udp }) },
    });
    await a.manager.ensureTunnel(b.nodeId);
    const payload = seededRandom(64).bytes(64 * 1024);
    expect(sha256(await transfer(a, b, payload))).toBe(sha256(payload));
    expect(a.manager.stats.pilx_sent ?? 0).toBe(0);
    expect(b.manager.stats.pilx_sent ?? 0).toBe(0);
    expect(a.manager.peer(b.nodeId)).toMatchObject({ forward_secret: false, capabilities: [] });
    expect(a.manager.capabilities(b.nodeId)).toMatchObject({ known: true, peer: [] });
  });
});
