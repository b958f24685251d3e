import { describe, expect, it } from 'vitest';
import { RttEstimator } from './rtt-estimator.js';

describe('RttEstimator (RFC 6298)', () => {
  it('starts at 1 s and takes SRTT = R, RTTVAR = R/2 from the first sample', () => {
    const rtt = new RttEstimator();
    expect(rtt.rto()).toBe(1000);
    rtt.update(100);
    expect(rtt.srtt).toBe(100);
    expect(rtt.rttVariance).toBe(50);
    expect(rtt.rto()).toBe(300); // 100 + 4·50
  });
  it('smooths later samples with 1/8 and 1/4', () => {
    const rtt = new RttEstimator();
    rtt.update(100);
    rtt.update(200);
    expect(rtt.rttVariance).toBeCloseTo(0.75 * 50 + 0.25 * 100);
    expect(rtt.srtt).toBeCloseTo(0.875 * 100 + 0.125 * 200);
  });
  it('clamps to the 200 ms floor and uses the clock granularity', () => {
    const rtt = new RttEstimator();
    for (let i = 0; i < 50; i++) rtt.update(5);
    expect(rtt.baseRto()).toBe(200);
    const fine = new RttEstimator({ minRto: 1 });
    for (let i = 0; i < 50; i++) fine.update(5);
    expect(fine.baseRto()).toBeCloseTo(15, 0); // 5 + max(G = 10, 4·RTTVAR→0)
  });
  it('backs off exponentially up to the 10 s cap and resets on new data', () => {
    const rtt = new RttEstimator();
    rtt.update(400); // RTO 1200
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) {
      seen.push(rtt.rto());
      rtt.onTimeout();
    }
    expect(seen).toEqual([1200, 2400, 4800, 9600, 10_000, 10_000]);
    rtt.resetBackoff();
    expect(rtt.rto()).toBe(1200);
  });
  it('ignores nonsense samples', () => {
    const rtt = new RttEstimator();
    rtt.update(Number.NaN);
    rtt.update(-5);
    expect(rtt.hasSamples).toBe(false);
  });
});
