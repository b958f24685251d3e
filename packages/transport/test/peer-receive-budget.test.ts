// Memory per peer across all its connections: a peer whose streams all withhold their first segment
// (so everything after it waits out of order) holds at most maxReceiveBytesPerPeer in all, and the
// segment that fills a gap is still taken, so every stream completes once it is sent.
import { LinkSimulation, seededRandom } from '@pilot/testkit';
import { decodePacket } from '@pilot/wire';
import { describe, expect, it } from 'vitest';
import { type Connection, Endpoint } from '../src/index.js';
import { A, B } from './harness.js';

const BUDGET = 64 * 1024;

describe('per-peer receive budget', () => {
  it('caps what one peer’s out-of-order data holds across its connections, and never sticks', () => {
    const ra = seededRandom(3);
    const rb = seededRandom(4);
    const a = new Endpoint({ localAddress: A, random: () => ra.nextU32() });
    const b = new Endpoint({ localAddress: B, random: () => rb.nextU32(), maxReceiveBytesPerPeer: BUDGET });
    // Each connection's first data segment is withheld while `holding` is true.
    let holding = true;
    const holes = new Map<number, number>();
    const filtered = {
      receive: (bytes: Uint8Array, now: number) => {
        const packet = decodePacket(bytes);
        if (packet.payload.length > 0) {
          const hole = holes.get(packet.srcPort);
          if (hole === undefined) holes.set(packet.srcPort, packet.seq);
          if (holding && (hole === undefined || hole === packet.seq)) return;
        }
        b.receive(bytes, now);
      },
      poll: (now: number) => b.poll(now),
      nextTimeout: () => b.nextTimeout(),
      onTimeout: (now: number) => b.onTimeout(now),
    };
    const sim = new LinkSimulation(a, filtered, { seed: 5, ab: { delay: 5 }, ba: { delay: 5 } });
    b.listen(1000);
    const clients: Connection[] = Array.from({ length: 8 }, () => a.connect(B, 1000, sim.now));
    const servers: Connection[] = [];
    sim.runUntil(() => {
      for (let s = b.accept(1000); s !== undefined; s = b.accept(1000)) servers.push(s);
      return servers.length === 8;
    }, 60_000);
    const size = 200 * 1024;
    for (const c of clients) c.write(new Uint8Array(size).fill(7));
    let peak = 0;
    sim.runUntil(() => {
      peak = Math.max(peak, b.receiveHeldBy(A.node));
      return sim.now > 5_000;
    }, 10_000);
    // 8 connections × a 1,024-segment window could hold about 9 MiB; the budget holds them to 64 KiB.
    expect(peak).toBeLessThanOrEqual(BUDGET);
    expect(b.counters.peerReceiveBudgetFull).toBeGreaterThan(0);

    // The gaps are filled: every stream is delivered whole, and the tally goes back to zero.
    holding = false;
    const got = new Map<Connection, number>();
    sim.runUntil(() => {
      for (const s of servers)
        for (let c = s.read(); c !== undefined; c = s.read()) got.set(s, (got.get(s) ?? 0) + c.length);
      return servers.every((s) => got.get(s) === size);
    }, 600_000);
    expect(servers.map((s) => got.get(s))).toEqual(servers.map(() => size));
    expect(b.receiveHeldBy(A.node)).toBe(0);
  });
});
