import { describe, expect, it } from 'vitest';
import { FakeClock, LinkSimulation, type SansIoNode } from '../src/index.js';

/** A node that sends `count` numbered packets at start and records what arrives. */
function node(count: number): SansIoNode & { got: number[] } {
  let pending = Array.from({ length: count }, (_, i) => Uint8Array.of(i));
  const got: number[] = [];
  return {
    got,
    receive: (bytes) => got.push(bytes[0]!),
    poll: () => {
      const out = pending.map((bytes) => ({ bytes }));
      pending = [];
      return out;
    },
    nextTimeout: () => undefined,
    onTimeout: () => undefined,
  };
}

describe('FakeClock', () => {
  it('moves only forward, only when told', () => {
    const clock = new FakeClock(5);
    expect(clock.advance(10)).toBe(15);
    expect(clock.advanceTo(3)).toBe(15);
    expect(clock.advance(-4)).toBe(15);
  });
});

describe('LinkSimulation', () => {
  it('is deterministic for a seed, and applies loss, duplication and reordering', () => {
    const run = (): number[] => {
      const a = node(1000);
      const b = node(0);
      const sim = new LinkSimulation(a, b, {
        seed: 7,
        ab: { loss: 0.1, duplicate: 0.05, reorder: 0.2, delay: 5 },
      });
      sim.runUntil(() => false, 1000);
      return b.got;
    };
    const first = run();
    expect(run()).toEqual(first);
    expect(first.length).toBeGreaterThan(850);
    expect(first.length).toBeLessThan(1000);
    expect(new Set(first).size).toBeLessThan(first.length); // duplicates
    expect(first.some((v, i) => i > 0 && v < first[i - 1]!)).toBe(true); // reordering
  });
  it('delays by the propagation delay plus serialisation at the bandwidth', () => {
    const a = node(10);
    const b = node(0);
    const sim = new LinkSimulation(a, b, { seed: 1, ab: { delay: 20, bandwidth: 0.5 } }); // 1 byte = 2 ms
    sim.runUntil(() => b.got.length === 10, 1000);
    expect(sim.now).toBe(20 + 10 * 2);
  });
});
