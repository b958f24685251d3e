import { randomBytes } from 'node:crypto';
import { LinkSimulation, type SansIoNode, seededRandom } from '@pilot/testkit';
import { encodePacket, Protocol } from '@pilot/wire';
import { describe, expect, it } from 'vitest';
import { type Address, Endpoint } from '../src/index.js';
import { A, B, drain } from './harness.js';

/**
 * `setChecksumFree` (the daemon's `aead-checksum-free`), sans-IO: an endpoint as a link hands it
 * packets, `authenticated` or not (an AEAD-opened PILS frame, or anything else).
 */
function node(endpoint: Endpoint, authenticated: () => boolean): SansIoNode {
  return {
    receive: (bytes, now) => endpoint.receive(bytes, now, authenticated()),
    poll: (now) => endpoint.poll(now),
    nextTimeout: () => endpoint.nextTimeout(),
    onTimeout: (now) => endpoint.onTimeout(now),
  };
}

function endpoints(seed = 7): { a: Endpoint; b: Endpoint } {
  const ra = seededRandom(seed ^ 0xa);
  const rb = seededRandom(seed ^ 0xb);
  return {
    a: new Endpoint({ localAddress: A, random: () => ra.nextU32() }),
    b: new Endpoint({ localAddress: B, random: () => rb.nextU32() }),
  };
}

const fieldOf = (bytes: Uint8Array): number => new DataView(bytes.buffer, bytes.byteOffset).getUint32(30);

/** Connects a to b:1000 and moves `payload` a → b; what b read, and whether it all arrived. */
function transfer(
  sim: LinkSimulation,
  a: Endpoint,
  b: Endpoint,
  payload: Uint8Array,
): { received: Uint8Array; done: boolean } {
  b.listen(1000);
  const client = a.connect(B, 1000, sim.now);
  let server = b.accept(1000);
  const chunks: Uint8Array[] = [];
  let offset = 0;
  let closed = false;
  const done = sim.runUntil(() => {
    server ??= b.accept(1000);
    while (client.state === 4 && offset < payload.length) {
      const n = client.write(payload.subarray(offset, Math.min(payload.length, offset + 65_536)));
      if (n === 0) break;
      offset += n;
    }
    if (client.state === 4 && offset === payload.length && !closed) {
      client.close();
      closed = true;
    }
    if (server !== undefined) drain(server, chunks);
    return server?.readEnded === true;
  }, 120_000);
  return { received: Buffer.concat(chunks), done };
}

describe('packets without a CRC between peers that agreed to it (sans-IO)', () => {
  it('over an authenticating link, both ways: checksum fields zero, data byte-exact, nothing refused', () => {
    const { a, b } = endpoints();
    a.setChecksumFree(B, true);
    b.setChecksumFree(A, true);
    const sim = new LinkSimulation(
      node(a, () => true),
      node(b, () => true),
      { seed: 3, ab: { loss: 0.02, delay: 5 } },
    );
    let zero = 0;
    let other = 0;
    sim.onSend = (_from, bytes) => {
      if (fieldOf(bytes) === 0) zero++;
      else other++;
      return true;
    };
    const payload = randomBytes(300_000);
    const { received, done } = transfer(sim, a, b, payload);
    expect(done).toBe(true);
    expect(Buffer.compare(received, payload)).toBe(0);
    expect(zero).toBeGreaterThan(200);
    expect(other).toBe(0);
    expect(a.counters.badChecksum + b.counters.badChecksum).toBe(0);
    expect(a.isChecksumFree(B)).toBe(true);
  });

  it('a receiver that did not agree refuses zero checksums (counted as bad checksums)', () => {
    const { a, b } = endpoints();
    a.setChecksumFree(B, true); // only the sender: b still verifies
    const sim = new LinkSimulation(
      node(a, () => true),
      node(b, () => true),
      { seed: 4 },
    );
    const { done } = transfer(sim, a, b, randomBytes(10_000));
    expect(done).toBe(false);
    expect(b.counters.badChecksum).toBeGreaterThan(0);
    expect(b.counters.packetsReceived).toBe(0);
  });

  it('packets the link does not vouch for (plaintext) are verified even from a checksum-free peer', () => {
    const { a, b } = endpoints();
    a.setChecksumFree(B, true);
    b.setChecksumFree(A, true);
    const sim = new LinkSimulation(
      node(a, () => true),
      node(b, () => false),
      { seed: 5 },
    );
    const { done } = transfer(sim, a, b, randomBytes(10_000));
    expect(done).toBe(false);
    expect(b.counters.badChecksum).toBeGreaterThan(0);
    expect(b.counters.packetsReceived).toBe(0);
  });

  it('an authenticated packet naming another source is verified (the switch is per peer)', () => {
    const { b } = endpoints();
    b.setChecksumFree(A, true);
    b.listen(1000);
    const other: Address = { network: 0, node: 0x0c };
    const synFields = (src: Address) => ({
      protocol: Protocol.STREAM,
      flags: 1,
      src,
      dst: B,
      srcPort: 49152,
      dstPort: 1000,
      seq: 1,
      window: 64,
    });
    const syn = (src: Address) => encodePacket(synFields(src), { checksum: false });
    b.receive(syn(other), 0, true);
    expect(b.counters.badChecksum).toBe(1);
    expect(b.counters.packetsReceived).toBe(0);
    b.receive(syn(A), 0, true);
    expect(b.counters.badChecksum).toBe(1);
    expect(b.counters.packetsReceived).toBe(1);
    // A packet that does carry its CRC (sent before the peer switched) is taken as well.
    b.receive(encodePacket({ ...synFields(A), seq: 9 }), 0, true);
    expect(b.counters.packetsReceived).toBe(2);
    // Turned off again: the CRC is checked again.
    b.setChecksumFree(A, false);
    b.receive(syn(A), 0, true);
    expect(b.counters.badChecksum).toBe(2);
  });

  it('datagrams and control replies towards a checksum-free peer go without a CRC too; others keep it', () => {
    const { a } = endpoints();
    a.setChecksumFree(B, true);
    a.sendDatagram(B, 7, Uint8Array.of(1, 2, 3));
    a.sendDatagram({ network: 0, node: 0x0c }, 7, Uint8Array.of(1, 2, 3));
    const out = a.poll(0);
    expect(out.map((t) => [t.destination.node, fieldOf(t.bytes) === 0])).toEqual([
      [B.node, true],
      [0x0c, false],
    ]);
  });
});
