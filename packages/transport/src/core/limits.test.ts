import { describe, expect, it } from 'vitest';
import { DatagramWindow } from './datagram-window.js';
import { SynLimiter } from './syn-limiter.js';
import { TokenBucket } from './token-bucket.js';

describe('TokenBucket / SynLimiter', () => {
  it('allows the burst, then the rate', () => {
    const b = new TokenBucket(10, 10, 0);
    let ok = 0;
    for (let i = 0; i < 20; i++) if (b.take(0)) ok++;
    expect(ok).toBe(10);
    expect(b.take(50)).toBe(false);
    expect(b.take(100)).toBe(true);
  });
  it('limits 10/s per source after a burst of 64, and 100/s overall', () => {
    const limiter = new SynLimiter();
    let one = 0;
    for (let i = 0; i < 100; i++) if (limiter.admit('x', 0)) one++;
    expect(one).toBe(64);
    let refilled = 0;
    for (let i = 0; i < 100; i++) if (limiter.admit('x', 1000)) refilled++;
    expect(refilled).toBe(10);
    let all = 0;
    for (let i = 0; i < 500; i++) if (limiter.admit(`s${i}`, 1000)) all++;
    expect(all).toBe(90); // the global bucket refilled to 100 by t = 1 s, less the 10 above
    expect(limiter.admit('y', 2000)).toBe(true);
  });
  it('tracks a bounded number of sources', () => {
    const limiter = new SynLimiter({ trackedSources: 4 });
    for (let i = 0; i < 1000; i++) limiter.admit(`s${i}`, i * 100);
    expect((limiter as unknown as { sources: Map<string, unknown> }).sources.size).toBe(4);
  });
});

describe('DatagramWindow', () => {
  it('accepts each counter once, rejects old ones, resets on a restarted sender', () => {
    const w = new DatagramWindow();
    expect(w.accept(5)).toBe(true);
    expect(w.accept(5)).toBe(false);
    expect(w.accept(3)).toBe(true);
    expect(w.accept(3)).toBe(false);
    expect(w.accept(400)).toBe(true);
    expect(w.accept(5)).toBe(false);
    expect(w.accept(0)).toBe(true);
    expect(w.accept(0)).toBe(true);
    expect(w.accept(0xffff_0000)).toBe(true);
  });
});
