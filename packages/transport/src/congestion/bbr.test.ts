import { describe, expect, it } from 'vitest';
import { Bbr, BbrState } from './bbr.js';
import type { DeliveryRateSample } from './congestion-controller.js';

const MSS = 1130;

/**
 * A fluid model of one path for the controller alone: a bottleneck of `bandwidth` bytes/ms and a
 * propagation RTT of `rtt` ms. Each step delivers one MSS and reports the sample a sender would
 * see when its window (or, beyond it, the bottleneck) limits the rate.
 */
class FluidPath {
  now = 0;
  delivered = 0;
  /** Delivery-rate samples start from where this round's first segment was sent. */
  private roundStartDelivered = 0;
  private roundStartTime = 0;

  constructor(
    private readonly cc: Bbr,
    private readonly bandwidth: number,
    private readonly rtt: number,
  ) {}

  /** Runs `ms` of simulated time, one ACK per MSS. */
  run(ms: number, rttOf: (now: number) => number = () => this.rtt): void {
    const end = this.now + ms;
    while (this.now < end) {
      const rtt = rttOf(this.now);
      // The window caps the rate at cwnd/RTT; the bottleneck at `bandwidth`.
      const rate = Math.min(this.bandwidth, this.cc.window / rtt);
      this.now += MSS / rate;
      this.delivered += MSS;
      // Paced above the bottleneck, the excess queues: in flight is what the pacer let out over an RTT.
      const inFlight = Math.min(this.cc.window, this.cc.pacingRate(rtt) * rtt);
      const interval = Math.max(rtt, this.now - this.roundStartTime);
      const sample: DeliveryRateSample = {
        delivered: rate * interval,
        interval,
        priorDelivered: this.roundStartDelivered,
        totalDelivered: this.delivered,
        newlyDelivered: MSS,
        rtt,
        appLimited: false,
        inFlight,
      };
      if (this.now - this.roundStartTime >= rtt) {
        this.roundStartDelivered = this.delivered;
        this.roundStartTime = this.now;
      } else {
        // Within a round, the sample's base is the round's start (segments sent then).
        (sample as { priorDelivered: number }).priorDelivered = Math.max(0, this.roundStartDelivered - 1);
      }
      this.cc.onAck(MSS, this.now - rtt, this.now);
      this.cc.onDeliveryRateSample(sample, this.now);
    }
  }
}

describe('Bbr (model-based, v1)', () => {
  it('starts with the initial window, pacing at 2.89 × cwnd / SRTT', () => {
    const cc = new Bbr(MSS);
    expect(cc.window).toBe(11_300);
    expect(cc.state).toBe(BbrState.STARTUP);
    expect(cc.inSlowStart).toBe(true);
    expect(cc.pacingRate(10)).toBeCloseTo((2 / Math.LN2) * 1130, 5);
  });

  it('finds the bottleneck: STARTUP → DRAIN → PROBE_BW, bandwidth and min RTT measured, cwnd ≈ 2·BDP', () => {
    const cc = new Bbr(MSS);
    const path = new FluidPath(cc, 2000, 50); // 2 MB/s, 50 ms: BDP 100 kB
    const seen: string[] = [cc.state];
    for (let t = 0; t < 3000; t += 1) {
      path.run(1);
      if (seen[seen.length - 1] !== cc.state) seen.push(cc.state);
    }
    expect(seen).toEqual([BbrState.STARTUP, BbrState.DRAIN, BbrState.PROBE_BW]);
    expect(cc.state).toBe(BbrState.PROBE_BW);
    expect(cc.bandwidth).toBeGreaterThan(2000 * 0.9);
    expect(cc.bandwidth).toBeLessThan(2000 * 1.3);
    expect(cc.minRtt).toBe(50);
    const bdp = cc.bandwidth * cc.minRtt;
    expect(cc.window).toBeGreaterThanOrEqual(2 * bdp);
    // 2·BDP, plus the ACK-aggregation and quantisation allowances (bounded by one more BDP here).
    expect(cc.window).toBeLessThanOrEqual(3 * bdp + 3 * MSS);
  });

  it('cycles the pacing gain through 1.25, 0.75 and 1 in PROBE_BW', () => {
    const cc = new Bbr(MSS);
    const path = new FluidPath(cc, 2000, 50);
    path.run(3000);
    expect(cc.state).toBe(BbrState.PROBE_BW);
    const gains = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      path.run(0.01); // one ACK
      gains.add(Math.round((cc.pacingRate(50) / cc.bandwidth) * 100) / 100);
    }
    expect([...gains].sort()).toEqual([0.75, 1, 1.25]);
  });

  it('keeps its window through random loss', () => {
    const cc = new Bbr(MSS);
    const path = new FluidPath(cc, 2000, 50);
    path.run(3000);
    const before = cc.window;
    for (let i = 0; i < 50; i++) cc.onCongestionEvent(path.now - 10, path.now);
    expect(cc.window).toBe(before);
    expect(cc.inRecovery(path.now)).toBe(false);
    path.run(1000);
    expect(cc.window).toBeGreaterThan(before * 0.8);
  });

  it('falls back to 4·MSS on an RTO and restores the window once a later segment is acknowledged', () => {
    const cc = new Bbr(MSS);
    const path = new FluidPath(cc, 2000, 50);
    path.run(3000);
    const before = cc.window;
    cc.onRetransmissionTimeout(path.now);
    expect(cc.window).toBe(4 * MSS);
    // An ACK of a segment sent before the timeout: still the floor (grown by what it acknowledged).
    cc.onDeliveryRateSample(
      {
        delivered: MSS,
        interval: 60,
        priorDelivered: path.delivered - 10 * MSS,
        totalDelivered: path.delivered + MSS,
        newlyDelivered: MSS,
        rtt: undefined,
        appLimited: false,
        inFlight: 0,
      },
      path.now + 1,
    );
    expect(cc.window).toBe(5 * MSS);
    // A retransmission sent after it comes back: the path is alive, the model's window returns.
    cc.onDeliveryRateSample(
      {
        delivered: 2 * MSS,
        interval: 60,
        priorDelivered: path.delivered,
        totalDelivered: path.delivered + 2 * MSS,
        newlyDelivered: MSS,
        rtt: 55,
        appLimited: false,
        inFlight: 0,
      },
      path.now + 60,
    );
    expect(cc.window).toBeGreaterThanOrEqual(before * 0.9);
  });

  it('enters PROBE_RTT when the min RTT is 10 s old, holds 4·MSS for 200 ms and a round, then resumes', () => {
    const cc = new Bbr(MSS);
    const path = new FluidPath(cc, 2000, 50);
    path.run(3000);
    // Queueing delay from now on: every RTT sample is above the 50 ms minimum.
    const states: BbrState[] = [];
    let minWindowInProbe = Number.POSITIVE_INFINITY;
    for (let t = 0; t < 12_000; t += 5) {
      path.run(5, () => 60);
      if (states[states.length - 1] !== cc.state) states.push(cc.state);
      if (cc.state === BbrState.PROBE_RTT) minWindowInProbe = Math.min(minWindowInProbe, cc.window);
    }
    expect(states).toContain(BbrState.PROBE_RTT);
    expect(minWindowInProbe).toBe(4 * MSS);
    expect(cc.state).toBe(BbrState.PROBE_BW);
    // The filter took the newer (larger) sample once the old one expired.
    expect(cc.minRtt).toBe(60);
  });

  it('ignores application-limited samples that are below the estimate', () => {
    const cc = new Bbr(MSS);
    const path = new FluidPath(cc, 2000, 50);
    path.run(3000);
    const bandwidth = cc.bandwidth;
    for (let i = 0; i < 200; i++) {
      cc.onDeliveryRateSample(
        {
          delivered: 10 * MSS,
          interval: 100,
          priorDelivered: path.delivered + i * MSS,
          totalDelivered: path.delivered + (i + 1) * MSS,
          newlyDelivered: MSS,
          rtt: 50,
          appLimited: true,
          inFlight: MSS,
        },
        path.now + i * 60,
      );
    }
    expect(cc.bandwidth).toBe(bandwidth);
  });
});
