// Loss recovery for request/response traffic (MCP calls: a small request, a ~64 KiB answer) on a
// 50 ms path: what used to wait for the RTO or retransmit for nothing. Sans-IO, on the seeded link.
import { decodePacket, seqDiff } from '@pilot/wire';
import { describe, expect, it } from 'vitest';
import { SentPacketTracker } from '../src/index.js';
import { drain, Pair } from './harness.js';

const MSS = 1130;

/** A pair 25 ms apart each way, connected, with a few exchanges behind it (settled RTT estimate). */
function warmPair(link: { jitter?: number } = {}) {
  const pair = new Pair({ link: { delay: 25, ...link }, back: { delay: 25, ...link } });
  const { client, server } = pair.connect();
  for (let i = 0; i < 4; i++) exchange(pair, client, server, 100, 100);
  return { pair, client, server };
}

type Conn = ReturnType<Pair['connect']>['client'];

/** The client writes `request` bytes; the server answers with `response` once it has them all. */
function exchange(pair: Pair, client: Conn, server: Conn, request: number, response: number): number {
  const start = pair.now;
  client.write(new Uint8Array(request));
  let got = 0;
  let answered = false;
  let received = 0;
  const ok = pair.run(() => {
    got += drain(server, []);
    if (!answered && got >= request) {
      answered = true;
      server.write(new Uint8Array(response));
    }
    received += drain(client, []);
    return received >= response;
  }, 10_000);
  expect(ok).toBe(true);
  return pair.now - start;
}

describe('request/response loss recovery (sender side only)', () => {
  it('a retransmission lost at the tail is probed a round trip later, not left to the RTO', () => {
    const { pair, client, server } = warmPair();
    let first: number | undefined;
    const sends = new Map<number, number>();
    pair.sim.onSend = (from, bytes) => {
      const p = decodePacket(bytes);
      if (from !== 'b' || p.payload.length === 0) return true;
      first ??= p.seq;
      const count = (sends.get(p.seq) ?? 0) + 1;
      sends.set(p.seq, count);
      // The 5th of 6 segments: lost, and its retransmission lost too. Nothing is sent after that
      // retransmission, so RACK cannot see it go missing.
      return !(seqDiff(p.seq, first) === 4 * MSS && count <= 2);
    };
    const elapsed = exchange(pair, client, server, 150, 6 * MSS);
    expect(sends.get((first! + 4 * MSS) >>> 0)).toBe(3);
    expect(pair.b.counters.rtoTimeouts).toBe(0);
    expect(pair.b.counters.tailLossProbes).toBeGreaterThanOrEqual(1);
    // request 25 + answer, loss seen ~1.25 RTT after sending, repair lost, probe ~1.25 RTT later: ~250 ms.
    // The RTO (>= 200 ms after the lost repair) made it ~400.
    expect(elapsed).toBeLessThan(300);
  });

  it("probes a lost last segment timed from when it left, not from the peer's delayed ACK of the rest", () => {
    const { pair, client, server } = warmPair();
    const times: number[] = [];
    pair.sim.onSend = (from, bytes) => {
      const p = decodePacket(bytes);
      if (from !== 'b' || p.payload.length !== 460) return true;
      times.push(pair.now);
      return times.length > 1; // the first transmission of the 460-byte tail is lost
    };
    // 5 full segments and a short one: the receiver holds its ACK of the fifth for up to 40 ms.
    exchange(pair, client, server, 150, 5 * MSS + 460);
    expect(times.length).toBe(2);
    const srtt = server.stats().srtt!;
    // Once the rest is acknowledged the tail is a lone segment: a round trip, its variance and the
    // delayed-ACK allowance after it left (~95 ms). Timed from that ACK's arrival (which the peer
    // held 40 ms), it went out ~230 ms after the tail.
    expect(times[1]! - times[0]!).toBeLessThan(2 * srtt + 40);
    expect(pair.b.counters.rtoTimeouts).toBe(0);
  });

  it('a lost lone request is probed after a round trip plus the delayed-ACK allowance, and the RTO stays quiet', () => {
    const { pair, client, server } = warmPair();
    const times: number[] = [];
    pair.sim.onSend = (from, bytes) => {
      const p = decodePacket(bytes);
      if (from !== 'a' || p.payload.length !== 150) return true;
      times.push(pair.now);
      return times.length > 1;
    };
    exchange(pair, client, server, 150, 20 * MSS);
    expect(times.length).toBe(2);
    const srtt = client.stats().srtt!;
    // srtt + 4·rttvar (settled: a few ms) + 40 ms, below RFC 8985's 2·srtt + 40.
    expect(times[1]! - times[0]!).toBeLessThan(2 * srtt + 40);
    expect(pair.a.counters.rtoTimeouts).toBe(0);
    expect(pair.b.counters.rtoTimeouts).toBe(0);
  });

  it('a path that reorders by a millisecond stops costing spurious retransmissions once seen', () => {
    // 1 ms of jitter reorders back-to-back segments; nothing is lost. Ten 64 KiB answers.
    const { pair, client, server } = warmPair({ jitter: 1 });
    for (let i = 0; i < 10; i++) exchange(pair, client, server, 150, 64 * 1024);
    // Without reordering detection every flight lost a few segments to "three SACKed above" (40+ here).
    expect(pair.b.counters.retransmits).toBeLessThanOrEqual(10);
    expect(pair.sim.stats('ba').dropped).toBe(0);
  });
});

describe('SentPacketTracker reordering detection', () => {
  const data = new Uint8Array(100);
  function sent(tracker: SentPacketTracker, count: number, now: number): void {
    for (let i = 0; i < count; i++) tracker.onSent(i * 100, data, false, now);
  }

  it('a first transmission delivered below a SACKed segment marks reordering; DupThresh then stays quiet', () => {
    const tracker = new SentPacketTracker();
    sent(tracker, 10, 0);
    // Segments 1..3 SACKed, 0 missing: DupThresh would declare segment 0 lost now.
    tracker.onAck(0, [{ left: 100, right: 400 }], 50, 50);
    expect(tracker.reorderingSeen).toBe(false);
    const before = tracker.detectLosses(50, 62);
    expect(before.lost.map((s) => s.seq)).toEqual([0]);

    const second = new SentPacketTracker();
    sent(second, 10, 0);
    second.onAck(0, [{ left: 100, right: 200 }], 50, 50);
    second.onAck(200, [], 50.5, 50); // segment 0 arrives late, never retransmitted
    expect(second.reorderingSeen).toBe(true);
    second.onAck(200, [{ left: 300, right: 600 }], 51, 50); // 200..300 missing, three SACKed above
    expect(second.detectLosses(51, 62).lost).toEqual([]); // RACK's time rule only
    expect(second.detectLosses(62, 62).lost.map((s) => s.seq)).toEqual([200]);
  });

  it("a segment declared lost whose ACK comes back sooner than its repair's could is reordering", () => {
    const tracker = new SentPacketTracker();
    sent(tracker, 10, 0);
    tracker.onAck(0, [{ left: 100, right: 400 }], 50, 50);
    const [lost] = tracker.detectLosses(50, 62).lost;
    tracker.onRetransmit(lost!, 50);
    tracker.onAck(400, [], 51, 50); // the original's ACK, 1 ms after the repair left
    expect(tracker.reorderingSeen).toBe(true);

    const slow = new SentPacketTracker();
    sent(slow, 10, 0);
    slow.onAck(0, [{ left: 100, right: 400 }], 50, 50);
    const [again] = slow.detectLosses(50, 62).lost;
    slow.onRetransmit(again!, 50);
    slow.onAck(400, [], 100, 50); // a round trip later: the repair's own ACK
    expect(slow.reorderingSeen).toBe(false);
  });
});

describe('SentPacketTracker reordering detection after a timeout', () => {
  it("an RTO answered at once by the originals' ACK (a delay spike) is not reordering", () => {
    const tracker = new SentPacketTracker();
    const data = new Uint8Array(100);
    for (let i = 0; i < 4; i++) tracker.onSent(i * 100, data, false, 0);
    tracker.markAllLost(); // the RTO
    for (let segment = tracker.firstLost(); segment !== undefined; segment = tracker.firstLost())
      tracker.onRetransmit(segment, 300);
    tracker.onAck(400, [], 301, 50); // the originals' ACK, 1 ms after the repairs left
    expect(tracker.reorderingSeen).toBe(false);
  });
});
