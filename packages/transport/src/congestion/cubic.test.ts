import { describe, expect, it } from 'vitest';
import { Cubic } from './cubic.js';
import { NewReno } from './new-reno.js';

const MSS = 1130;

/** Acknowledges one window's worth of bytes in two-segment ACKs, one RTT of `rtt` ms later. */
function ackWindow(cc: { window: number; onAck(b: number, s: number, n: number): void }, now: number): void {
  for (let acked = 0, w = cc.window; acked < w; acked += 2 * MSS) cc.onAck(2 * MSS, now - 1, now);
}

describe('Cubic (RFC 9438)', () => {
  it('reduces to 0.7 of the window once per recovery period', () => {
    const cc = new Cubic(MSS);
    cc.onAck(100 * MSS, 1, 2);
    const before = cc.window;
    cc.onCongestionEvent(5, 10);
    expect(cc.window).toBe(Math.floor(before * 0.7));
    cc.onCongestionEvent(8, 11); // sent before the recovery started: same event
    expect(cc.window).toBe(Math.floor(before * 0.7));
    expect(cc.inSlowStart).toBe(false);
  });

  it('climbs back to the window of the loss in about K seconds, then probes beyond it', () => {
    const cc = new Cubic(MSS);
    cc.onAck(200 * MSS, 1, 2);
    const wMax = cc.window;
    cc.onCongestionEvent(5, 10);
    const k = Math.cbrt((wMax * 0.3) / MSS / 0.4) * 1000;
    let now = 20;
    while (now < 10 + k * 0.9) {
      ackWindow(cc, now);
      now += 50;
    }
    expect(cc.window).toBeLessThan(wMax);
    expect(cc.window).toBeGreaterThan(wMax * 0.85);
    while (now < 10 + k * 1.6) {
      ackWindow(cc, now);
      now += 50;
    }
    expect(cc.window).toBeGreaterThan(wMax);
  });

  it('keeps more in flight than New-Reno under the same periodic loss', () => {
    const cubic = new Cubic(MSS);
    const reno = new NewReno(MSS);
    let now = 10;
    for (let round = 0; round < 400; round++) {
      for (const cc of [cubic, reno]) {
        if (round % 20 === 19) cc.onCongestionEvent(now - 1, now);
        else ackWindow(cc, now);
      }
      now += 50;
    }
    expect(cubic.window).toBeGreaterThan(reno.window);
  });

  it('collapses to the minimum window on RTO and slow-starts back', () => {
    const cc = new Cubic(MSS);
    cc.onAck(50 * MSS, 1, 2);
    cc.onRetransmissionTimeout(100);
    expect(cc.window).toBe(2 * MSS);
    cc.onAck(MSS, 150, 200);
    expect(cc.window).toBe(3 * MSS);
  });
});
