import { describe, expect, it } from 'vitest';
import { NewReno } from './new-reno.js';
import { Pacer } from './pacer.js';

const MSS = 1130;

describe('NewReno (RFC 9002 constants)', () => {
  it('starts at min(10·MSS, max(14720, 2·MSS)) and grows by the bytes acked in slow start', () => {
    const cc = new NewReno(MSS);
    expect(cc.window).toBe(11_300);
    expect(cc.inSlowStart).toBe(true);
    cc.onAck(5000, 1, 2);
    expect(cc.window).toBe(16_300);
  });
  it('halves once per recovery period and grows one MSS per window afterwards', () => {
    const cc = new NewReno(MSS);
    cc.onAck(20_000, 1, 2);
    const before = cc.window;
    cc.onCongestionEvent(5, 10);
    expect(cc.window).toBe(Math.floor(before / 2));
    cc.onCongestionEvent(6, 11); // sent before recovery started: same event
    expect(cc.window).toBe(Math.floor(before / 2));
    cc.onAck(MSS, 9, 12); // acked packet sent before recovery: no growth
    expect(cc.window).toBe(Math.floor(before / 2));
    const w = cc.window;
    cc.onAck(w, 20, 30); // a whole window acked in congestion avoidance
    expect(cc.window - w).toBeGreaterThanOrEqual(MSS - 1);
    expect(cc.window - w).toBeLessThanOrEqual(MSS);
  });
  it('never goes under 2·MSS and collapses to it on RTO', () => {
    const cc = new NewReno(MSS);
    for (let i = 0; i < 10; i++) cc.onCongestionEvent(100 * i + 50, 100 * i + 60);
    expect(cc.window).toBe(2 * MSS);
    const big = new NewReno(MSS);
    big.onAck(100_000, 1, 2);
    big.onRetransmissionTimeout(5);
    expect(big.window).toBe(2 * MSS);
    expect(big.slowStartThreshold).toBe(Math.floor(111_300 / 2));
  });
  it('paces at 1.25 · cwnd / SRTT', () => {
    expect(new NewReno(MSS).pacingRate(10)).toBeCloseTo((1.25 * 11_300) / 10);
  });
});

describe('Pacer', () => {
  it('lets a burst through, then spaces packets at the rate', () => {
    const pacer = new Pacer(1000, 2);
    pacer.setRate(100); // 100 bytes per ms
    expect(pacer.delay(1000, 0)).toBe(0);
    pacer.onSend(1000, 0);
    expect(pacer.delay(1000, 0)).toBe(0);
    pacer.onSend(1000, 0);
    expect(pacer.delay(1000, 0)).toBeCloseTo(10);
    expect(pacer.delay(1000, 10)).toBe(0);
  });
  it('lets a late wake-up make up the time it was late, up to catchUpMs, so the rate holds', () => {
    // 1000 B/ms, a 2-segment allowance: every wait is 1 ms, and the driver wakes 5 ms late each time.
    const drive = (catchUpMs: number) => {
      const pacer = new Pacer(1000, 2, catchUpMs);
      pacer.setRate(1000);
      let now = 0;
      let sent = 0;
      while (now < 1000) {
        const wait = pacer.delay(1000, now);
        if (wait > 0) {
          now += wait + 5;
          continue;
        }
        pacer.onSend(1000, now);
        sent += 1000;
      }
      return sent / now;
    };
    // Without catching up each wake-up sends the 2-segment allowance: a third of the rate.
    expect(drive(0)).toBeLessThan(400);
    expect(drive(8)).toBeGreaterThan(950);
    expect(drive(8)).toBeLessThanOrEqual(1000 * 1.02);
  });
  it('gives an idle sender no more than its allowance, and never more than catchUpMs of lateness', () => {
    const pacer = new Pacer(1000, 2, 8);
    pacer.setRate(1000);
    // Idle for a second (never held back): the allowance only.
    let sent = 0;
    while (pacer.delay(1000, 1000) === 0) {
      pacer.onSend(1000, 1000);
      sent += 1000;
    }
    expect(sent).toBe(2000);
    // Held back, then woken 100 ms late: 2 ms of allowance + 8 ms of lateness at most.
    const wait = pacer.delay(1000, 1000);
    sent = 0;
    while (pacer.delay(1000, 1000 + wait + 100) === 0) {
      pacer.onSend(1000, 1000 + wait + 100);
      sent += 1000;
    }
    expect(sent).toBeGreaterThanOrEqual(9000);
    expect(sent).toBeLessThanOrEqual(11_000);
  });
  it('does not pace without a rate', () => {
    const pacer = new Pacer(1000, 1);
    for (let i = 0; i < 100; i++) {
      expect(pacer.delay(1000, 0)).toBe(0);
      pacer.onSend(1000, 0);
    }
  });
});
