// `aead-checksum-free` over real UDP sockets and a real registry: two pilot-ts tunnels negotiate it in
// their signed PILX, their transports then send packets with the CRC field zero inside PILS and take
// them without a CRC check, byte-exact. The attacks: a zero checksum from a peer that did not
// negotiate it, or inside plaintext (PILT), is still refused (WIRE_BAD_CHECKSUM, counted as
// badChecksum); a tampered PILS frame is refused by its tag before any packet is looked at.
import type { RemoteInfo } from 'node:dgram';
import { seededRandom } from '@pilot/testkit';
import { encodePacket, Protocol, TunnelCapability, TunnelMagic } from '@pilot/wire';
import { describe, expect, it } from 'vitest';
import { rawSocket, sha256, type TestNode, transfer, until, useTunnelNodes } from './helpers.js';

const { node } = useTunnelNodes();

const CAPABILITIES = [TunnelCapability.FORWARD_SECRECY, TunnelCapability.AEAD_CHECKSUM_FREE];

/** What the daemon's ChecksumPolicy does: the switch follows the peer's signed capabilities. */
function applyPolicy(n: TestNode, peer: TestNode): boolean {
  const capabilities = n.manager.capabilities(peer.nodeId);
  const free = capabilities.signed && capabilities.has(TunnelCapability.AEAD_CHECKSUM_FREE);
  n.transport.setChecksumFree(peer.address, free);
  return free;
}

/** The checksum field of every packet `n`'s transport hands its tunnel for `to` (a spy, not a mock). */
function checksumFieldsSent(n: TestNode, to: number): number[] {
  const fields: number[] = [];
  const send = n.manager.send.bind(n.manager);
  n.manager.send = (packet: Uint8Array, target: number): void => {
    if (target === to) fields.push(new DataView(packet.buffer, packet.byteOffset).getUint32(30));
    send(packet, target);
  };
  return fields;
}

const counters = (n: TestNode) => n.transport.endpoint.counters;
const stat = (n: TestNode, name: string): number => n.manager.stats[name] ?? 0;

/** Datagrams `n` delivers (port 9). */
function datagramsTo(n: TestNode): Uint8Array[] {
  const got: Uint8Array[] = [];
  n.transport.on('datagram', (d: { payload: Uint8Array }) => got.push(d.payload));
  return got;
}

describe('aead-checksum-free between pilot-ts tunnels', () => {
  it('is negotiated from both signed PILX; packets go with the CRC field zero and arrive byte-exact', async () => {
    const [a, b] = [await node({ capabilities: CAPABILITIES }), await node({ capabilities: CAPABILITIES })];
    expect(a.manager.advertisedCapabilities).toContain('aead-checksum-free');
    const info = await a.manager.ensureTunnel(b.nodeId);
    expect(info.capabilities).toContain('aead-checksum-free');
    await until(() => b.manager.capabilities(a.nodeId).signed, 5000, 'b has a’s signed PILX');
    expect(applyPolicy(a, b)).toBe(true);
    expect(applyPolicy(b, a)).toBe(true);
    const fromA = checksumFieldsSent(a, b.nodeId);
    const fromB = checksumFieldsSent(b, a.nodeId);
    const payload = seededRandom(70).bytes(1024 * 1024);
    expect(sha256(await transfer(a, b, payload))).toBe(sha256(payload));
    // Every packet both ways, data and ACKs, SYN and FIN: the field is zero, and nothing was refused.
    expect(fromA.length).toBeGreaterThan(50);
    expect(fromB.length).toBeGreaterThan(10);
    expect(fromA.every((field) => field === 0)).toBe(true);
    expect(fromB.every((field) => field === 0)).toBe(true);
    expect(counters(a).checksumsOmitted).toBeGreaterThanOrEqual(fromA.length);
    expect(counters(b).checksumsSkipped).toBeGreaterThan(50);
    expect(counters(a).badChecksum + counters(b).badChecksum).toBe(0);
  });

  it('a peer that did not advertise it gets and checks the CRC; a zero checksum sent to it anyway is refused', async () => {
    const [a, c] = [await node({ capabilities: CAPABILITIES }), await node()];
    await a.manager.ensureTunnel(c.nodeId);
    await until(() => c.manager.capabilities(a.nodeId).signed, 5000, 'c has a’s signed PILX');
    expect(a.manager.capabilities(c.nodeId).has('aead-checksum-free')).toBe(false);
    expect(applyPolicy(a, c)).toBe(false);
    expect(applyPolicy(c, a)).toBe(false);
    const fields = checksumFieldsSent(a, c.nodeId);
    const payload = seededRandom(71).bytes(128 * 1024);
    expect(sha256(await transfer(a, c, payload))).toBe(sha256(payload));
    expect(fields.length).toBeGreaterThan(10);
    expect(fields.some((field) => field === 0)).toBe(false);
    expect(counters(c).checksumsSkipped).toBe(0);

    // A sender that leaves the CRC out without the peer's consent: inside a genuine PILS frame that
    // opens fine, the packet is still checked, and dropped as a bad checksum.
    a.transport.setChecksumFree(c.address, true);
    const got = datagramsTo(c);
    const before = counters(c).badChecksum;
    a.transport.sendDatagram(c.address, 9, Uint8Array.of(1, 2, 3));
    await until(() => counters(c).badChecksum > before, 5000, 'the zero checksum refused');
    expect(got).toEqual([]);
  });

  it('inside plaintext (PILT) the CRC is always checked, whatever a transport was told', async () => {
    const options = { encrypt: false, capabilities: CAPABILITIES };
    const [a, b] = [await node(options), await node(options)];
    // Nothing to negotiate without PILS: not advertised.
    expect(a.manager.advertisedCapabilities).not.toContain('aead-checksum-free');
    await a.manager.ensureTunnel(b.nodeId);
    // Both transports misconfigured as if it were negotiated: the link vouches for nothing in PILT.
    a.transport.setChecksumFree(b.address, true);
    b.transport.setChecksumFree(a.address, true);
    const got = datagramsTo(b);
    a.transport.sendDatagram(b.address, 9, Uint8Array.of(1, 2, 3));
    await until(() => counters(b).badChecksum >= 1, 5000, 'the zero checksum in PILT refused');
    // The same from an attacker's socket: a PILT frame whose packet names a, checksum zero.
    const attacker = await rawSocket();
    try {
      const packet = encodePacket(
        {
          protocol: Protocol.DATAGRAM,
          src: a.address,
          dst: b.address,
          srcPort: 9,
          dstPort: 9,
          payload: Uint8Array.of(4),
        },
        { checksum: false },
      );
      const frame = new Uint8Array(4 + packet.length);
      new DataView(frame.buffer).setUint32(0, TunnelMagic.PLAINTEXT);
      frame.set(packet, 4);
      attacker.send(frame, b.udp);
      await until(() => counters(b).badChecksum >= 2, 5000, 'the forged PILT refused');
    } finally {
      await attacker.close();
    }
    expect(got).toEqual([]);
    expect(counters(b).checksumsSkipped).toBe(0);
  });

  it('a tampered PILS frame is refused by its tag; the transport never sees it', async () => {
    const [a, b] = [await node({ capabilities: CAPABILITIES }), await node({ capabilities: CAPABILITIES })];
    await a.manager.ensureTunnel(b.nodeId);
    await until(() => b.manager.capabilities(a.nodeId).signed, 5000, 'b has a’s signed PILX');
    applyPolicy(a, b);
    applyPolicy(b, a);
    // Hold back a's next datagram-sized PILS frame before b's tunnel sees it (its nonce stays
    // unused, so what refuses the copies below is the tag, not the replay window).
    const socket = b.manager.socket!;
    const emit = socket.emit;
    let held: Uint8Array | undefined;
    socket.emit = function (this: typeof socket, event: string | symbol, ...args: unknown[]): boolean {
      const [message, from] = args as [Buffer, RemoteInfo];
      if (
        event === 'message' &&
        held === undefined &&
        from.port === a.udp.port &&
        message.length > 100 &&
        message.readUInt32BE(0) === TunnelMagic.ENCRYPTED
      ) {
        held = Uint8Array.from(message);
        return true;
      }
      return Reflect.apply(emit, this, [event, ...args]) as boolean;
    } as typeof socket.emit;
    const got = datagramsTo(b);
    a.transport.sendDatagram(b.address, 9, new Uint8Array(100).fill(5));
    await until(() => held !== undefined, 5000, 'the frame held back');
    socket.emit = emit;
    const genuine = held!;
    const received = counters(b).packetsReceived;
    const attacker = await rawSocket();
    try {
      // PILS: magic, sender, 12-byte nonce, then the sealed packet: its (zero) checksum field is at
      // 20 + 30; then a payload byte and the tag's last byte.
      for (const at of [20 + 30, 20 + 34 + 50, genuine.length - 1]) {
        const tampered = genuine.slice();
        tampered[at]! ^= 0x01;
        attacker.send(tampered, b.udp);
      }
      await until(() => stat(b, 'drop_bad_tag') >= 3, 5000, 'three bad tags');
      await new Promise((resolve) => setImmediate(resolve));
      expect(counters(b).packetsReceived).toBe(received);
      expect(got).toEqual([]);
      // The untouched frame, from anywhere, still opens: its packet carries no CRC and is taken.
      attacker.send(genuine, b.udp);
      await until(() => got.length === 1, 5000, 'the genuine datagram');
    } finally {
      await attacker.close();
    }
    expect(got[0]).toEqual(new Uint8Array(100).fill(5));
    expect(counters(b).badChecksum).toBe(0);
  });
});
