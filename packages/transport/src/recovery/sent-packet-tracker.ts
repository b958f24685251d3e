import type { DeliveryRateSample } from '../congestion/congestion-controller.js';
import { type SackBlock, seqAdd, seqDiff } from '../wire.js';
import { type SentSegment, segmentLength } from './sent-segment.js';

export interface AckResult {
  /** Bytes newly acknowledged, cumulatively or by SACK. */
  readonly newlyAcked: number;
  /** Bytes removed by the cumulative ACK. */
  readonly cumulativeBytes: number;
  /** Send time of the newest segment newly acknowledged (NaN when none). */
  readonly newestSentAt: number;
  /** An RTT sample from a segment sent once (Karn's rule), or undefined. */
  readonly rttSample: number | undefined;
  readonly finAcked: boolean;
  /** The delivery-rate sample of this ACK (undefined when it delivered nothing). */
  readonly rateSample: DeliveryRateSample | undefined;
}

/** Outcome of loss detection: segments newly declared lost and when to look again. */
export interface LossResult {
  readonly lost: SentSegment[];
  /** When a segment that is not yet lost will be, if nothing arrives first (NaN when none). */
  readonly nextCheck: number;
}

const DUP_THRESHOLD = 3;

/**
 * Segments in flight, in sequence order. Marks SACKed segments (they are never retransmitted),
 * declares losses the way RFC 6675 (three segments SACKed above) and RACK (RFC 8985: sent before
 * something delivered, and older than an RTT plus a reordering allowance) do, and keeps the
 * "pipe" (bytes in flight that are neither SACKed nor lost) for the congestion window. It also
 * estimates the delivery rate (draft-cheng-iccrg-delivery-rate-estimation): every transmission is
 * stamped with the bytes delivered so far, and an ACK compares them with the bytes delivered now.
 */
export class SentPacketTracker {
  private segments: SentSegment[] = [];
  private head = 0;
  private pipeBytes = 0;
  /** Bytes above the cumulative ACK that the peer reported holding (SACKed). */
  private sackedBytes = 0;
  private lostCount = 0;
  private nextOrder = 1;
  private rackOrder = 0;
  private delivered = 0;
  private deliveredTime = Number.NaN;
  private firstSentTime = Number.NaN;
  /** While non-zero: the delivered count up to which transmissions count as application-limited. */
  private appLimitedUntil = 0;
  /**
   * Segments in flight that are neither SACKed nor lost, oldest transmission first (a doubly linked
   * list through the segments). Loss detection walks it from the oldest and stops at the first
   * segment sent after the newest delivered one (RACK), so an ACK costs the losses in flight, not the
   * whole flight: scanning every segment per ACK cost a lossy sender most of its ACK processing.
   */
  private oldestSent: SentSegment | undefined;
  private newestSent: SentSegment | undefined;
  /** The three highest SACKed sequence numbers (RFC 6675's DupThresh: three SACKed above). */
  private readonly sackedTop: number[] = [];
  /**
   * SACK blocks already applied, left edge → right edge: every segment inside is SACKed (SACKed
   * segments stay so). A receiver repeats a block several times and grows it at its right edge, so
   * an ACK only walks what is new in each block instead of the whole block again.
   */
  private readonly appliedBlocks = new Map<number, number>();
  /**
   * The path reorders (set once, as Linux's tp->reord_seen): a first transmission was delivered
   * below a segment already SACKed, or a segment declared lost was acknowledged sooner after its
   * retransmission than a round trip could bring that back (the original got there). From then on
   * only RACK's time rule declares losses: DupThresh ("three SACKed above") fired on every flight
   * a 1 ms jitter reordered, ~8 % of a burst of first flights retransmitted for nothing.
   */
  private reorderingValue = false;

  get inFlight(): number {
    return this.pipeBytes;
  }
  /** Bytes SACKed but not yet cumulatively acknowledged: the peer holds them in its buffer. */
  get sacked(): number {
    return this.sackedBytes;
  }
  get isEmpty(): boolean {
    return this.head === this.segments.length;
  }
  get count(): number {
    return this.segments.length - this.head;
  }
  /** Bytes delivered (acknowledged or SACKed) since the connection began. */
  get totalDelivered(): number {
    return this.delivered;
  }
  get hasLost(): boolean {
    return this.lostCount > 0;
  }
  /** Reordering was seen on this connection: DupThresh is off, RACK's time rule alone decides. */
  get reorderingSeen(): boolean {
    return this.reorderingValue;
  }
  first(): SentSegment | undefined {
    return this.segments[this.head];
  }
  last(): SentSegment | undefined {
    return this.isEmpty ? undefined : this.segments[this.segments.length - 1];
  }
  /** Sequence number one past the last tracked segment (undefined when empty). */
  endSeq(): number | undefined {
    const last = this.last();
    return last === undefined ? undefined : seqAdd(last.seq, segmentLength(last));
  }

  /** Records a new segment going out. */
  onSent(seq: number, data: Uint8Array, fin: boolean, now: number): SentSegment {
    if (this.pipeBytes === 0) this.restartIntervals(now);
    const segment: SentSegment = {
      seq,
      data,
      fin,
      sentAt: now,
      order: this.nextOrder++,
      transmissions: 1,
      repaired: false,
      lostByTimeout: false,
      sacked: false,
      lost: false,
      delivered: this.delivered,
      deliveredTime: this.deliveredTime,
      firstSentTime: this.firstSentTime,
      appLimited: this.appLimitedUntil !== 0,
      listed: false,
      previousSent: undefined,
      nextSent: undefined,
    };
    this.segments.push(segment);
    this.pipeBytes += segmentLength(segment);
    this.link(segment);
    return segment;
  }

  private link(segment: SentSegment): void {
    segment.listed = true;
    segment.previousSent = this.newestSent;
    segment.nextSent = undefined;
    if (this.newestSent === undefined) this.oldestSent = segment;
    else this.newestSent.nextSent = segment;
    this.newestSent = segment;
  }

  private unlink(segment: SentSegment): void {
    if (!segment.listed) return;
    segment.listed = false;
    const previous = segment.previousSent;
    const next = segment.nextSent;
    if (previous === undefined) this.oldestSent = next;
    else previous.nextSent = next;
    if (next === undefined) this.newestSent = previous;
    else next.previousSent = previous;
    segment.previousSent = undefined;
    segment.nextSent = undefined;
  }

  /** Rebuilds the send-order list from the segments (after resegment: pieces share an order). */
  private relink(): void {
    this.oldestSent = undefined;
    this.newestSent = undefined;
    const listed: SentSegment[] = [];
    for (let i = this.head; i < this.segments.length; i++) {
      const segment = this.segments[i]!;
      segment.listed = false;
      if (!segment.sacked && !segment.lost) listed.push(segment);
    }
    listed.sort((x, y) => x.order - y.order);
    for (const segment of listed) this.link(segment);
  }

  private noteSacked(seq: number): void {
    const top = this.sackedTop;
    if (top.includes(seq)) return;
    let at = top.length;
    while (at > 0 && seqDiff(seq, top[at - 1]!) > 0) at--;
    if (at >= 3) return;
    top.splice(at, 0, seq);
    if (top.length > 3) top.length = 3;
  }

  /** Records a retransmission of a tracked segment. */
  onRetransmit(segment: SentSegment, now: number): void {
    if (this.pipeBytes === 0) this.restartIntervals(now);
    this.stamp(segment);
    const wasLost = segment.lost;
    if (segment.lost) {
      segment.lost = false;
      this.lostCount--;
      this.pipeBytes += segmentLength(segment);
    }
    segment.sentAt = now;
    segment.order = this.nextOrder++;
    segment.transmissions++;
    // A spurious RTO (a delay spike) is not reordering: only what loss detection declared lost counts.
    segment.repaired = wasLost && !segment.lostByTimeout;
    segment.lostByTimeout = false;
    this.unlink(segment);
    this.link(segment);
  }

  /**
   * The application has nothing to send while the window has room: samples until what is in
   * flight now is delivered measure the application, not the path.
   */
  markAppLimited(): void {
    this.appLimitedUntil = Math.max(this.delivered + this.pipeBytes, 1);
  }

  /** Nothing in flight: the next send starts the send and ACK intervals afresh (draft §3.2). */
  private restartIntervals(now: number): void {
    this.firstSentTime = now;
    this.deliveredTime = now;
  }

  private stamp(segment: SentSegment): void {
    segment.delivered = this.delivered;
    segment.deliveredTime = this.deliveredTime;
    segment.firstSentTime = this.firstSentTime;
    segment.appLimited = this.appLimitedUntil !== 0;
  }

  /** When the newest transmission still in flight (neither SACKed nor lost) left; NaN when none. */
  newestInFlightSentAt(): number {
    return this.newestSent === undefined ? Number.NaN : this.newestSent.sentAt;
  }

  /** The first segment declared lost, lowest sequence first. */
  firstLost(): SentSegment | undefined {
    if (this.lostCount === 0) return undefined;
    for (let i = this.head; i < this.segments.length; i++) {
      const segment = this.segments[i]!;
      if (segment.lost) return segment;
    }
    return undefined;
  }

  /** The first segment neither acknowledged nor SACKed. */
  firstUnsacked(): SentSegment | undefined {
    for (let i = this.head; i < this.segments.length; i++) {
      const segment = this.segments[i]!;
      if (!segment.sacked) return segment;
    }
    return undefined;
  }

  /** Oldest transmission time among segments still counted in flight (NaN when none). */
  oldestInFlightSentAt(): number {
    let oldest = Number.NaN;
    for (let i = this.head; i < this.segments.length; i++) {
      const segment = this.segments[i]!;
      if (segment.sacked || segment.lost) continue;
      if (!(segment.sentAt >= oldest)) oldest = segment.sentAt;
    }
    return oldest;
  }

  /**
   * Applies a cumulative ACK (`ack`, known to be within what was sent) and SACK blocks (already
   * validated against what was sent). `now` gives the RTT sample; `minRtt` (when known) tells a
   * retransmission's own ACK from the original's (reordering detection).
   */
  onAck(ack: number, blocks: readonly SackBlock[], now: number, minRtt?: number): AckResult {
    let newlyAcked = 0;
    let cumulativeBytes = 0;
    let newestSentAt = Number.NaN;
    let newestOrder = 0;
    let rttSample: number | undefined;
    let finAcked = false;
    let newest: SentSegment | undefined;
    // The highest segment SACKed before this ACK: a first transmission delivered below it came late.
    const highestSacked = this.sackedTop[0];
    /** Send time of the newest retransmission acknowledged too soon to be its own delivery. */
    let quickSentAt = Number.NaN;
    const deliver = (segment: SentSegment, bytes: number): void => {
      newlyAcked += bytes;
      if (!this.reorderingValue) this.checkReordering(segment, highestSacked, now, minRtt);
      // RFC 8985 §6.2 step 2: a retransmission acknowledged sooner than the min RTT after it left
      // was delivered by its original copy; its recent send time must not become RACK's (every
      // segment sent before it would look overdue) nor start a delivery-rate sample (the interval
      // would be too short, the rate too high, as Linux notes in tcp_rate_gen). Otherwise one
      // spurious retransmission, acknowledged at once, declares lost every segment sent before it
      // that is older than the loss delay, and their retransmissions can do the same again.
      if (segment.transmissions > 1 && minRtt !== undefined && now - segment.sentAt < minRtt) {
        if (!(segment.sentAt <= quickSentAt)) quickSentAt = segment.sentAt;
        return;
      }
      if (segment.order > newestOrder) {
        newest = segment;
        newestOrder = segment.order;
        newestSentAt = segment.sentAt;
        rttSample = segment.transmissions === 1 ? now - segment.sentAt : undefined;
      }
      if (segment.order > this.rackOrder) {
        this.rackOrder = segment.order;
      }
    };
    while (this.head < this.segments.length) {
      const segment = this.segments[this.head]!;
      const length = segmentLength(segment);
      const covered = seqDiff(ack, segment.seq);
      if (covered <= 0) break;
      if (covered < length && !segment.fin) {
        // A peer acknowledged part of a segment: keep the rest, as the peer may segment differently.
        this.dropFromPipe(segment, covered);
        segment.data = segment.data.subarray(covered);
        segment.seq = ack;
        cumulativeBytes += covered;
        if (!segment.sacked) deliver(segment, covered);
        else this.sackedBytes -= covered;
        break;
      }
      if (!segment.sacked) deliver(segment, length);
      else this.sackedBytes -= length;
      this.dropFromPipe(segment, length);
      this.unlink(segment);
      if (segment.fin) finAcked = true;
      cumulativeBytes += length;
      this.segments[this.head] = undefined as unknown as SentSegment;
      this.head++;
    }
    this.compact();
    // SACKed sequence numbers at or below the cumulative ACK no longer stand above any hole.
    while (this.sackedTop.length > 0 && seqDiff(this.sackedTop[this.sackedTop.length - 1]!, ack) < 0)
      this.sackedTop.pop();
    // A cache: entries below the cumulative ACK are never asked for again; bound it by clearing.
    if (this.appliedBlocks.size > 64) this.appliedBlocks.clear();
    for (const block of blocks) {
      const applied = this.appliedBlocks.get(block.left);
      let from = block.left;
      if (applied !== undefined) {
        if (seqDiff(block.right, applied) <= 0) continue;
        from = applied;
      }
      this.appliedBlocks.set(block.left, block.right);
      for (let i = this.indexAtOrAfter(from); i < this.segments.length; i++) {
        const segment = this.segments[i]!;
        if (seqDiff(segment.seq, block.right) >= 0) break;
        if (segment.sacked) continue;
        if (seqDiff(segment.seq, block.left) < 0) continue;
        if (seqDiff(seqAdd(segment.seq, segmentLength(segment)), block.right) > 0) continue;
        this.dropFromPipe(segment, segmentLength(segment));
        segment.sacked = true;
        this.unlink(segment);
        this.noteSacked(segment.seq);
        this.sackedBytes += segmentLength(segment);
        deliver(segment, segmentLength(segment));
      }
    }
    let rateSample: DeliveryRateSample | undefined;
    if (newest !== undefined) rateSample = this.sampleRate(newest, newlyAcked, rttSample, now);
    else if (newlyAcked > 0) {
      // Only quickly acknowledged retransmissions: count the bytes as delivered, without a sample.
      this.delivered += newlyAcked;
      this.deliveredTime = now;
      if (this.appLimitedUntil !== 0 && this.delivered > this.appLimitedUntil) this.appLimitedUntil = 0;
      newestSentAt = quickSentAt;
    }
    return { newlyAcked, cumulativeBytes, newestSentAt, rttSample, finAcked, rateSample };
  }

  private checkReordering(
    segment: SentSegment,
    highestSacked: number | undefined,
    now: number,
    minRtt: number | undefined,
  ): void {
    if (segment.transmissions === 1) {
      if (highestSacked !== undefined && seqDiff(segment.seq, highestSacked) < 0) this.reorderingValue = true;
    } else if (segment.repaired && minRtt !== undefined && now - segment.sentAt < minRtt / 2) {
      // Half a min RTT after the retransmission: no ACK of it can be back yet, so this one is the
      // original's, and declaring it lost was wrong. (Not for a probe: it is sent while the
      // original may still be on its way by design.)
      this.reorderingValue = true;
    }
  }

  /** Draft §3.3: delivered since `newest` left, over the longer of its send and ACK intervals. */
  private sampleRate(
    newest: SentSegment,
    newlyAcked: number,
    rtt: number | undefined,
    now: number,
  ): DeliveryRateSample {
    this.delivered += newlyAcked;
    this.deliveredTime = now;
    if (this.appLimitedUntil !== 0 && this.delivered > this.appLimitedUntil) this.appLimitedUntil = 0;
    this.firstSentTime = newest.sentAt;
    const sendElapsed = newest.sentAt - newest.firstSentTime;
    const ackElapsed = now - newest.deliveredTime;
    const interval = Math.max(sendElapsed, ackElapsed);
    return {
      delivered: this.delivered - newest.delivered,
      interval: interval > 0 ? interval : 0,
      priorDelivered: newest.delivered,
      totalDelivered: this.delivered,
      newlyDelivered: newlyAcked,
      rtt,
      appLimited: newest.appLimited,
      inFlight: this.pipeBytes,
    };
  }

  /**
   * Declares losses. `lossDelay` is the RACK time threshold (RTT plus reordering window); a
   * segment sent before the newest delivered one is lost once it is that old, or at once when
   * three segments above it were SACKed (a first transmission only; see below).
   */
  detectLosses(now: number, lossDelay: number): LossResult {
    const lost: SentSegment[] = [];
    let nextCheck = Number.NaN;
    if (this.rackOrder === 0) return { lost, nextCheck };
    // A first transmission below the third-highest SACKed segment has three SACKed above it.
    const third =
      this.sackedTop.length >= DUP_THRESHOLD && !this.reorderingValue
        ? this.sackedTop[DUP_THRESHOLD - 1]
        : undefined;
    // Oldest transmission first; everything from the first segment sent after the newest delivered
    // one on is not lost (yet): RACK only judges what was sent before something that arrived.
    for (let segment = this.oldestSent; segment !== undefined; ) {
      const next = segment.nextSent;
      if (segment.order >= this.rackOrder) break;
      const deadline = segment.sentAt + lossDelay;
      // Three SACKed segments above only say "lost" of a first transmission: the ones above a
      // retransmission were mostly sent (and SACKed) before it, and counting them re-declared every
      // retransmission lost on the next ACK (at 5 % loss, half the losses declared were these).
      // A retransmission is lost only by time, once something sent after it was delivered (RACK).
      if (
        (third !== undefined && segment.transmissions === 1 && seqDiff(segment.seq, third) < 0) ||
        deadline <= now
      ) {
        this.markLost(segment);
        lost.push(segment);
      } else if (!(deadline >= nextCheck)) {
        nextCheck = deadline;
      }
      segment = next;
    }
    // Highest sequence first, as callers have always seen them.
    if (lost.length > 1) lost.sort((x, y) => seqDiff(y.seq, x.seq));
    return { lost, nextCheck };
  }

  /** Fast retransmit on the third duplicate ACK (for peers that send no SACK). */
  markFirstUnsackedLost(): SentSegment | undefined {
    const segment = this.firstUnsacked();
    if (segment === undefined || segment.lost || segment.transmissions > 1) return undefined;
    this.markLost(segment);
    return segment;
  }

  /**
   * Cuts every segment not yet SACKed into pieces of at most `maxBytes`, for a path whose datagram
   * size went down (a black hole found by path MTU discovery): a retransmission of the old size
   * would be lost again forever. The pieces keep the segment's state (lost, in flight, stamps).
   */
  resegment(maxBytes: number): void {
    let needed = false;
    for (let i = this.head; i < this.segments.length; i++) {
      const segment = this.segments[i]!;
      if (!segment.sacked && segment.data.length > maxBytes) {
        needed = true;
        break;
      }
    }
    if (!needed) return;
    const out: SentSegment[] = [];
    for (let i = this.head; i < this.segments.length; i++) {
      const segment = this.segments[i]!;
      if (segment.sacked || segment.data.length <= maxBytes) {
        out.push(segment);
        continue;
      }
      for (let offset = 0; offset < segment.data.length; offset += maxBytes) {
        if (offset > 0 && segment.lost) this.lostCount++;
        out.push({
          ...segment,
          seq: seqAdd(segment.seq, offset),
          data: segment.data.subarray(offset, Math.min(segment.data.length, offset + maxBytes)),
        });
      }
    }
    this.segments = out;
    this.head = 0;
    this.relink();
  }

  /** After a retransmission timeout everything not SACKed is presumed lost (RFC 6675 §5.1). */
  markAllLost(): number {
    let count = 0;
    for (let i = this.head; i < this.segments.length; i++) {
      const segment = this.segments[i]!;
      if (!segment.sacked && !segment.lost) {
        this.markLost(segment);
        segment.lostByTimeout = true;
        count++;
      }
    }
    return count;
  }

  private markLost(segment: SentSegment): void {
    this.unlink(segment);
    segment.lost = true;
    this.lostCount++;
    this.pipeBytes -= segmentLength(segment);
  }

  private dropFromPipe(segment: SentSegment, bytes: number): void {
    if (segment.sacked) return;
    if (segment.lost) {
      if (bytes >= segmentLength(segment)) {
        segment.lost = false;
        this.lostCount--;
      }
      return;
    }
    this.pipeBytes -= bytes;
  }

  /**
   * The first held segment that starts at or after `seq` but may still contain it (so the one
   * starting before `seq` when `seq` falls inside it). Segments are in sequence order: a binary
   * search, where scanning from the head cost every ACK the whole window per SACK block.
   */
  private indexAtOrAfter(seq: number): number {
    let low = this.head;
    let high = this.segments.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const segment = this.segments[mid]!;
      if (seqDiff(seqAdd(segment.seq, segmentLength(segment)), seq) <= 0) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  private compact(): void {
    if (this.head === this.segments.length) {
      this.segments = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.segments.length) {
      this.segments = this.segments.slice(this.head);
      this.head = 0;
    }
  }
}
