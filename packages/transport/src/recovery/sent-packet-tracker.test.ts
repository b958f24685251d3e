import { describe, expect, it } from 'vitest';
import { SentPacketTracker } from './sent-packet-tracker.js';

const seg = (n: number): Uint8Array => new Uint8Array(n);

/** Ten 100-byte segments at seq 1000.. sent at t = 0..9. */
function tenSegments(): SentPacketTracker {
  const t = new SentPacketTracker();
  for (let i = 0; i < 10; i++) t.onSent(1000 + 100 * i, seg(100), false, i);
  return t;
}

describe('SentPacketTracker', () => {
  it('ignores a retransmission acknowledged sooner than the min RTT for RACK and rate samples (RFC 8985 §6.2)', () => {
    const run = (minRtt: number | undefined) => {
      const t = tenSegments();
      // Segment 1000 is declared lost (spuriously) and retransmitted at t = 100; at t = 101 the
      // cumulative ACK of its original copy arrives — 1 ms after the retransmission left.
      const segment = t.markFirstUnsackedLost()!;
      t.onRetransmit(segment, 100);
      const ack = t.onAck(1100, [], 101, minRtt);
      return { ack, lost: t.detectLosses(101, 60).lost.length, t };
    };
    const fixed = run(50);
    // Segments 1100–1900, sent at t = 1..9 and still in flight, are not declared lost by it.
    expect(fixed.lost).toBe(0);
    expect(fixed.ack.newlyAcked).toBe(100);
    expect(fixed.ack.rateSample).toBeUndefined();
    expect(fixed.ack.newestSentAt).toBe(100);
    // The bytes still count as delivered: the next sample includes them.
    expect(fixed.t.onAck(1200, [], 130, 50).rateSample?.totalDelivered).toBe(200);
    // Without a min RTT (none measured yet) the retransmission counts as before.
    expect(run(undefined).lost).toBe(9);
  });
  it('samples the delivery rate: bytes delivered since the newest segment left, over the longer interval', () => {
    const t = tenSegments();
    // Cumulative ACK of segments 0–2 at t = 50: the newest, sent at 2, left when nothing was delivered.
    const first = t.onAck(1300, [], 50).rateSample;
    expect(first).toEqual({
      delivered: 300,
      interval: 50, // max(send interval 2 − 0, ACK interval 50 − 0)
      priorDelivered: 0,
      totalDelivered: 300,
      newlyDelivered: 300,
      rtt: 48,
      appLimited: false,
      inFlight: 700,
    });
    // A SACK of segment 9 at t = 60 counts what was delivered since it left (the first 300 bytes
    // arrived after it was sent, so they count too): 400 bytes over max(9 − 0, 60 − 0).
    const second = t.onAck(1300, [{ left: 1900, right: 2000 }], 60).rateSample;
    expect(second?.delivered).toBe(400);
    expect(second?.interval).toBe(60);
    expect(second?.priorDelivered).toBe(0);
    expect(second?.totalDelivered).toBe(400);
    // A segment sent after those deliveries starts its intervals from them.
    t.onSent(2000, seg(100), false, 61);
    const third = t.onAck(1300, [{ left: 1900, right: 2100 }], 111).rateSample;
    expect(third?.priorDelivered).toBe(400);
    expect(third?.delivered).toBe(100);
    expect(third?.interval).toBe(61 - 9); // its send interval began when segment 9, the newest delivered, left
    expect(t.onAck(1300, [], 120).rateSample).toBeUndefined(); // nothing new delivered
  });
  it('marks samples application-limited until what was in flight when the sender ran dry is delivered', () => {
    const t = new SentPacketTracker();
    t.onSent(0, seg(100), false, 0);
    t.markAppLimited();
    t.onSent(100, seg(100), false, 1);
    expect(t.onAck(100, [], 20).rateSample?.appLimited).toBe(false); // sent before the mark
    expect(t.onAck(200, [], 21).rateSample?.appLimited).toBe(true);
    t.onSent(200, seg(100), false, 22); // the mark ended with the delivery of byte 200
    expect(t.onAck(300, [], 40).rateSample?.appLimited).toBe(false);
  });
  it('removes cumulatively acked segments and samples RTT from segments sent once (Karn)', () => {
    const t = tenSegments();
    expect(t.inFlight).toBe(1000);
    const r = t.onAck(1300, [], 50);
    expect(r.cumulativeBytes).toBe(300);
    expect(r.rttSample).toBe(50 - 2);
    expect(t.inFlight).toBe(700);
    const first = t.first()!;
    t.markAllLost();
    t.onRetransmit(first, 60);
    const again = t.onAck(1400, [], 70);
    expect(again.rttSample).toBeUndefined(); // retransmitted: ambiguous
  });
  it('marks segments inside SACK blocks and never counts them in flight', () => {
    const t = tenSegments();
    const r = t.onAck(1000, [{ left: 1200, right: 1500 }], 20);
    expect(r.newlyAcked).toBe(300);
    expect(t.inFlight).toBe(700);
    expect(t.firstUnsacked()!.seq).toBe(1000);
    // What the peer holds above the hole, until the cumulative ACK passes it (or part of it).
    expect(t.sacked).toBe(300);
    t.onAck(1000, [{ left: 1200, right: 1600 }], 21);
    expect(t.sacked).toBe(400);
    t.onAck(1300, [], 22);
    expect(t.sacked).toBe(300);
    t.onAck(1600, [], 23);
    expect(t.sacked).toBe(0);
  });
  it('a retransmission is declared lost by time only, never by the SACKed segments above it', () => {
    const t = tenSegments();
    t.onAck(1000, [{ left: 1100, right: 1500 }], 20); // 1000 lost: four SACKed above
    expect(t.detectLosses(20, 1000).lost.map((s) => s.seq)).toEqual([1000]);
    t.onRetransmit(t.firstLost()!, 30);
    t.onSent(2000, seg(100), false, 31);
    t.onAck(1000, [{ left: 1100, right: 2100 }], 40);
    // 2000 was sent after the retransmission and delivered, ten SACKed sit above it: not yet lost…
    expect(t.detectLosses(40, 50).lost).toEqual([]);
    // …until the time threshold passes.
    expect(t.detectLosses(81, 50).lost.map((s) => s.seq)).toEqual([1000]);
  });
  it('declares a segment lost when three segments above it are SACKed (RFC 6675)', () => {
    const t = tenSegments();
    t.onAck(1100, [{ left: 1200, right: 1500 }], 20);
    const { lost } = t.detectLosses(20, 1000);
    expect(lost.map((s) => s.seq)).toEqual([1100]);
    expect(t.firstLost()!.seq).toBe(1100);
    expect(t.inFlight).toBe(500); // 1500..2000
  });
  it('declares loss by time (RACK) when fewer than three are SACKed above', () => {
    const t = tenSegments();
    t.onAck(1000, [{ left: 1100, right: 1200 }], 20);
    const early = t.detectLosses(20, 30);
    expect(early.lost).toEqual([]);
    expect(early.nextCheck).toBe(30); // sent at 0 + 30
    const later = t.detectLosses(30, 30);
    expect(later.lost.map((s) => s.seq)).toEqual([1000]);
  });
  it('fast-retransmits the first unSACKed segment once (three duplicate ACKs)', () => {
    const t = tenSegments();
    expect(t.markFirstUnsackedLost()!.seq).toBe(1000);
    t.onRetransmit(t.firstLost()!, 30);
    expect(t.markFirstUnsackedLost()).toBeUndefined();
  });
  it('after an RTO everything not SACKed is lost, and retransmission puts it back in flight', () => {
    const t = tenSegments();
    t.onAck(1000, [{ left: 1500, right: 1600 }], 20);
    expect(t.markAllLost()).toBe(9);
    expect(t.inFlight).toBe(0);
    t.onRetransmit(t.firstLost()!, 40);
    expect(t.inFlight).toBe(100);
    expect(t.firstLost()!.seq).toBe(1100);
  });
  it('handles a partial ACK inside a segment and sequence wrap-around', () => {
    const t = new SentPacketTracker();
    const start = 0xffff_ff00;
    t.onSent(start, seg(200), false, 0);
    t.onSent((start + 200) >>> 0, seg(200), false, 1);
    const r = t.onAck((start + 300) >>> 0, [], 10);
    expect(r.cumulativeBytes).toBe(300);
    expect(t.first()!.seq).toBe((start + 300) >>> 0);
    expect(t.first()!.data.length).toBe(100);
  });
  it('tracks the FIN as one sequence number', () => {
    const t = new SentPacketTracker();
    t.onSent(10, seg(0), true, 0);
    expect(t.inFlight).toBe(1);
    expect(t.onAck(11, [], 5).finAcked).toBe(true);
    expect(t.isEmpty).toBe(true);
  });
});
