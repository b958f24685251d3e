import type { RemoteInfo } from 'node:dgram';
import { createAuthKeyExchange, generateIdentity, generateX25519KeyPair } from '@pilot/crypto';
import { hostileBasics, hostileVariants, seededRandom } from '@pilot/testkit';
import { encodeBeaconMessage, encodePacket, TunnelMagic } from '@pilot/wire';
import { describe, expect, it } from 'vitest';
import { MiB, rawSocket, sha256, sleep, type TestNode, transfer, until, useTunnelNodes } from './helpers.js';

const { node } = useTunnelNodes();

const magicOf = (bytes: Uint8Array): number =>
  ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;

/** Records the tunnel frames `target` receives from `source`'s socket. */
function sniff(target: TestNode, source: TestNode): { pils: Uint8Array[]; pila: Uint8Array[] } {
  const seen = { pils: [] as Uint8Array[], pila: [] as Uint8Array[] };
  target.manager.socket?.on('message', (message: Buffer, from: RemoteInfo) => {
    if (from.port !== source.udp.port || message.length < 4) return;
    const magic = magicOf(message);
    if (magic === TunnelMagic.ENCRYPTED) seen.pils.push(Uint8Array.from(message));
    if (magic === TunnelMagic.AUTH_KEY_EXCHANGE) seen.pila.push(Uint8Array.from(message));
  });
  return seen;
}

const stat = (n: TestNode, name: string): number => n.manager.stats[name] ?? 0;

describe('hostile frames are dropped and counted, never crash, never move a tunnel', () => {
  it('replays, tampering, forged and badly signed PILAs, spoofed relay deliveries, truncations', async () => {
    const [a, b] = [await node(), await node()];
    const seen = sniff(b, a);
    await a.manager.ensureTunnel(b.nodeId);
    const payload = seededRandom(10).bytes(256 * 1024);
    expect(sha256(await transfer(a, b, payload))).toBe(sha256(payload));
    await until(() => seen.pils.length > 10 && seen.pila.length > 0, 5000, 'sniffed frames');
    const endpointBefore = b.manager.peer(a.nodeId)?.endpoint;
    const attacker = await rawSocket();
    try {
      // Replays of genuine frames, from another endpoint: refused by the replay window.
      for (const frame of seen.pils.slice(0, 10)) attacker.send(frame, b.udp);
      await until(() => stat(b, 'drop_replay') >= 10, 5000, 'replays counted');
      expect(b.events.some((e) => e.type === 'security.nonce_replay')).toBe(true);

      // Tampering: a flipped ciphertext bit, and a fresh counter under a forged tag.
      const flipped = seen.pils[0]!.slice();
      flipped[flipped.length - 1]! ^= 1;
      const bumped = seen.pils[0]!.slice();
      bumped[19] = 0xff;
      bumped[18] = 0xff;
      attacker.send(flipped, b.udp);
      attacker.send(bumped, b.udp);
      await until(
        () => stat(b, 'drop_bad_tag') + stat(b, 'drop_replay') >= 12,
        5000,
        'tampered frames counted',
      );
      expect(stat(b, 'drop_bad_tag')).toBeGreaterThanOrEqual(1);

      // A PILA claiming A's node ID under another identity: not the registry's key.
      const evil = createAuthKeyExchange(generateIdentity(), a.nodeId, generateX25519KeyPair().publicKey);
      attacker.send(evil, b.udp);
      await until(() => stat(b, 'drop_pila_bad_key') >= 1, 5000, 'forged PILA counted');
      expect(b.events.some((e) => e.type === 'security.bad_key' && e.node_id === a.nodeId)).toBe(true);

      // A's genuine PILA with a broken signature.
      const badSig = seen.pila[0]!.slice();
      badSig[120]! ^= 0x40;
      attacker.send(badSig, b.udp);
      await until(() => stat(b, 'drop_pila_bad_signature') >= 1, 5000, 'bad signature counted');

      // A's genuine PILA replayed from elsewhere (same key): authenticated, but it moves nothing,
      // and its PILX is not newer than the last one: no answer goes to where it came from.
      const pilasBefore = attacker.received.filter(
        (m) => magicOf(m) === TunnelMagic.AUTH_KEY_EXCHANGE,
      ).length;
      attacker.send(seen.pila[0]!, b.udp);
      await sleep(300);
      expect(attacker.received.filter((m) => magicOf(m) === TunnelMagic.AUTH_KEY_EXCHANGE)).toHaveLength(
        pilasBefore,
      );

      // A relay delivery that does not come from the beacon.
      const relayed = encodeBeaconMessage({ type: 'relayDeliver', source: a.nodeId, frame: seen.pils[1]! });
      attacker.send(relayed, b.udp);
      await until(() => stat(b, 'drop_relay_not_from_beacon') >= 1, 5000, 'spoofed relay counted');

      // Truncated frames of every kind, PILS from a node without keys, unknown magics.
      attacker.send(Uint8Array.of(0x50, 0x49, 0x4c), b.udp);
      attacker.send(seen.pila[0]!.subarray(0, 100), b.udp);
      attacker.send(seen.pils[0]!.subarray(0, 30), b.udp);
      const stranger = seen.pils[0]!.slice();
      stranger.set([0x00, 0xee, 0xee, 0xee], 4);
      attacker.send(stranger, b.udp);
      attacker.send(new TextEncoder().encode('PILXjunkjunkjunk'), b.udp);
      await until(() => stat(b, 'drop_truncated') >= 3 && stat(b, 'drop_no_keys') >= 1, 5000, 'truncations');
      expect(stat(b, 'drop_bad_magic')).toBeGreaterThanOrEqual(1);
    } finally {
      await attacker.close();
    }
    // Nothing unauthenticated moved the tunnel, and it still works.
    expect(b.manager.peer(a.nodeId)?.endpoint).toBe(endpointBefore);
    expect(b.manager.peer(a.nodeId)?.relay).toBe(false);
    const after = seededRandom(11).bytes(512 * 1024);
    expect(sha256(await transfer(a, b, after))).toBe(sha256(after));
    expect(stat(b, 'dropped')).toBeGreaterThanOrEqual(18);
  });

  it('a peer may only speak for itself inside its frames', async () => {
    const [a, b] = [await node(), await node()];
    await a.manager.ensureTunnel(b.nodeId);
    // A packet sealed by A (A's key, A as sender) whose header claims another source node.
    const packet = encodePacket({
      flags: 0x01,
      protocol: 1,
      src: { network: 0, node: 0x00c0ffee },
      dst: b.address,
      srcPort: 5000,
      dstPort: 1000,
      seq: 1,
      ack: 0,
      window: 16,
      payload: new Uint8Array(0),
    });
    // Sent through A's tunnel as any packet would be: sealed by A, to B's path.
    a.manager.send(packet, b.nodeId);
    await until(() => stat(b, 'drop_spoofed_source') >= 1, 5000, 'spoofed source counted');
  });

  it('refuses PILK with our PILA (a key request), rate-limited', async () => {
    const [a, b] = [await node(), await node()];
    const attacker = await rawSocket();
    try {
      const pilk = new Uint8Array(40);
      new DataView(pilk.buffer).setUint32(0, TunnelMagic.KEY_EXCHANGE);
      new DataView(pilk.buffer).setUint32(4, a.nodeId);
      pilk.set(generateX25519KeyPair().publicKey, 8);
      for (let i = 0; i < 20; i++) attacker.send(pilk, b.udp);
      await until(() => stat(b, 'drop_pilk_refused') >= 20, 5000, 'PILK refused');
      await sleep(200);
      const answers = attacker.received.filter((m) => magicOf(m) === TunnelMagic.AUTH_KEY_EXCHANGE);
      expect(answers.length).toBe(1);
      expect(answers[0]!.length).toBe(136);
      // The PILK gave no keys.
      expect(b.manager.peer(a.nodeId)?.encrypted ?? false).toBe(false);
    } finally {
      await attacker.close();
    }
  });

  it('a PILK right after a PILA still being checked gets only the answer to that PILA: a forged one gets nothing and blocks nobody', async () => {
    const [b, c] = [await node(), await node()];
    const attacker = await rawSocket();
    try {
      // c has never looked b up: a PILA naming b waits for the registry's key. A forged one (another
      // identity) followed by a PILK naming b, as a restarted peer sends them.
      const x25519 = generateX25519KeyPair().publicKey;
      const evil = createAuthKeyExchange(generateIdentity(), b.nodeId, x25519);
      const pilk = new Uint8Array(40);
      new DataView(pilk.buffer).setUint32(0, TunnelMagic.KEY_EXCHANGE);
      new DataView(pilk.buffer).setUint32(4, b.nodeId);
      pilk.set(x25519, 8);
      attacker.send(evil, c.udp);
      attacker.send(pilk, c.udp);
      await until(() => stat(c, 'drop_pila_bad_key') >= 1, 5000, 'forged PILA refused');
      expect(stat(c, 'pilk_answered_by_pila')).toBe(1);
      await sleep(200);
      // The PILK was left to the PILA's answer, and the forged PILA has none: nothing came back
      // (before, the PILK was answered with c's PILA, to wherever it claimed to come from).
      expect(attacker.received.filter((m) => magicOf(m) === TunnelMagic.AUTH_KEY_EXCHANGE)).toHaveLength(0);
      expect(c.manager.peer(b.nodeId)?.encrypted ?? false).toBe(false);
      // b itself keys with c at once: the refused PILA left nothing behind.
      await b.manager.ensureTunnel(c.nodeId, { timeoutMs: 5000 });
      const payload = seededRandom(12).bytes(64 * 1024);
      expect(sha256(await transfer(b, c, payload))).toBe(sha256(payload));
    } finally {
      await attacker.close();
    }
  });

  it('survives every hostile input fed to open() directly', async () => {
    const [a, b] = [await node(), await node()];
    const seen = sniff(b, a);
    await a.manager.ensureTunnel(b.nodeId);
    await until(() => seen.pila.length > 0, 5000, 'a PILA');
    // A PILS frame of A's to vary: any packet A seals for B (B drops this one as a spoofed source).
    a.manager.send(new Uint8Array(40), b.nodeId);
    await until(() => seen.pils.length > 0, 5000, 'a PILS');
    const from = { address: '127.0.0.1', port: 9 };
    const inputs = [
      ...hostileBasics(),
      ...hostileVariants(seen.pila[0]!),
      ...hostileVariants(seen.pils[0]!),
      ...hostileVariants(
        encodeBeaconMessage({ type: 'relayDeliver', source: a.nodeId, frame: seen.pila[0]! }),
      ),
    ];
    for (const input of inputs) expect(b.manager.open(input.bytes, from)).toBeUndefined();
    await sleep(500);
    const payload = seededRandom(12).bytes(1 * MiB);
    expect(sha256(await transfer(a, b, payload))).toBe(sha256(payload));
  });
});
