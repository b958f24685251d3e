import { decodePacket, PacketFlag } from '@pilot/wire';
import { describe, expect, it } from 'vitest';
import { MIN_RTO, SYN_INITIAL_RTO } from '../src/constants.js';
import { PathRttCache } from '../src/path/path-rtt.js';
import { B, Pair } from './harness.js';

const C = { network: 0, node: 0x0c } as const;

/** Times (ms after `start`) at which `pair.a` sends a SYN to `to`, driving only A (nothing answers). */
function synTimes(pair: Pair, to: number, start: number, until: number): number[] {
  const times: number[] = [];
  for (let now = start; now <= start + until; now += 10) {
    pair.a.onTimeout(now);
    for (const t of pair.a.poll(now)) {
      const packet = decodePacket(t.bytes);
      if (packet.dst.node === to && (packet.flags & PacketFlag.SYN) !== 0) times.push(now - start);
    }
  }
  return times;
}

describe('path RTT memory (the first timers of a new connection)', () => {
  it('a second dial to a measured peer re-sends a lost SYN after 2 RTT, then ~3 RTT, not the blind 1 s', () => {
    const pair = new Pair({ link: { delay: 25 }, back: { delay: 25 } });
    pair.connect(1000); // measures ~50 ms
    const start = pair.now + 1;
    pair.a.connect(B, 1000, start);
    const known = synTimes(pair, B.node, start, 1500);
    expect(known[0]).toBe(0);
    // A quick first try two RTTs after the SYN (an extra one: the schedule after it is unchanged).
    expect(known[1]).toBeGreaterThanOrEqual(100);
    expect(known[1]).toBeLessThan(MIN_RTO);
    // srtt 50 and rttvar 25 after one sample: 50 + 4·25 = 150, floored at MIN_RTO.
    expect(known[2]! - known[1]!).toBeGreaterThanOrEqual(MIN_RTO);
    expect(known[2]! - known[1]!).toBeLessThan(300);
    expect(known[3]! - known[2]!).toBeGreaterThanOrEqual(2 * MIN_RTO - 10); // still backs off

    // A peer never measured keeps RFC 6298's 1 s.
    const later = pair.now + 2000;
    pair.a.connect(C, 1000, later);
    const blind = synTimes(pair, C.node, later, 1500);
    expect(blind[0]).toBe(0);
    expect(blind[1]).toBeGreaterThanOrEqual(SYN_INITIAL_RTO);
  });

  it('is bounded to [MIN_RTO, 1 s], forgets after 10 minutes and ignores nonsense', () => {
    const cache = new PathRttCache();
    cache.note(1, 5, 1, 0);
    expect(cache.initialRto(1, 0)).toBe(MIN_RTO);
    expect(cache.firstSynTimeout(1, 0)).toBe(30); // loopback RTTs: never sooner than 30 ms
    expect(cache.firstSynTimeout(5, 0)).toBeUndefined();
    cache.note(2, 900, 400, 0);
    expect(cache.initialRto(2, 0)).toBe(SYN_INITIAL_RTO);
    expect(cache.initialRto(2, 600_001)).toBeUndefined();
    cache.note(3, Number.NaN, 1, 0);
    cache.note(4, -1, 1, 0);
    expect(cache.initialRto(3, 0)).toBeUndefined();
    expect(cache.initialRto(4, 0)).toBeUndefined();
    for (let node = 10; node < 5000; node++) cache.note(node, 50, 10, 0);
    expect(cache.size).toBe(4096);
  });
});

describe('a node reachable again (the link found it after losing it)', () => {
  it('resends the SYNs still waiting for its answer at once, and only those', () => {
    const pair = new Pair();
    const start = 0;
    pair.a.connect(C, 1000, start);
    // Lost SYNs back off: 0, 1 s, then 2 s more.
    const before = synTimes(pair, C.node, start, 2500);
    expect(before).toEqual([0, SYN_INITIAL_RTO]);
    const at = start + 2600;
    expect(pair.a.reachableAgain(B.node, at)).toBe(0); // another node: nothing
    expect(pair.a.reachableAgain(C.node, at)).toBe(1);
    pair.a.onTimeout(at);
    const sent = pair.a.poll(at).map((t) => decodePacket(t.bytes));
    expect(sent.some((p) => p.dst.node === C.node && (p.flags & PacketFlag.SYN) !== 0)).toBe(true);
    // It took the place of the next retry: the one after it is backed off further (4 s).
    expect(synTimes(pair, C.node, at + 10, 3900)).toEqual([]);
    // An established connection has no SYN to resend.
    const established = new Pair();
    established.connect(1000);
    expect(established.a.reachableAgain(B.node, established.now)).toBe(0);
  });
});
