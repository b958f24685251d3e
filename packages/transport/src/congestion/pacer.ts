/** At high rates the burst allowance covers this many milliseconds at the rate (cf. Linux's ~1 ms TSO bursts). */
const BURST_MS = 2;
/** Default bound on the time a late wake-up may make up (`catchUpMs`). */
export const PACING_CATCH_UP_MS = 8;

/**
 * A token-bucket pacer: bytes leave at the congestion controller's pacing rate, with a burst
 * allowance of `burstSegments` or 2 ms at the rate, whichever is more, so that a driver whose timers
 * tick at 1 ms can fill a fast path without spinning on sub-millisecond waits. Unpaced windows
 * lose 4–58% on loopback (the receiver runs out of CPU), so every stream segment goes through here.
 *
 * A driver that wakes later than the pacer asked (a timer that fired late, a process that was not
 * scheduled, a turn spent on other work) may make up the time it was late, up to `catchUpMs`:
 * without that the allowance capped what a late wake-up could send, so a sender woken every 6 ms
 * for a 1 ms wait sent a third of its rate, and BBR then measured that as the path's bandwidth
 * (the lab at 5 % loss under CPU contention: an estimate that sank to half the rate it paced at).
 * Only lateness past a wait the pacer asked for counts (an idle sender earns no burst); the extra
 * allowance lasts until the tokens are back at the normal allowance, and the long-run rate is
 * unchanged: what leaves in any interval stays within rate × (interval + 2 ms + catchUpMs).
 * Linux credits OS jitter in the same spirit (`tcp_update_skb_after_send`).
 */
export class Pacer {
  private tokens: number;
  private last = Number.NaN;
  private rate = Number.POSITIVE_INFINITY;
  private burst: number;
  private minimumBurst: number;
  private readonly burstSegments: number;
  private readonly catchUpMs: number;
  /** When the send the pacer last held back was allowed to go (NaN: nothing held back). */
  private dueAt = Number.NaN;
  /** Allowance above `burst` earned by a late wake-up, until the tokens fall back to `burst`. */
  private extra = 0;

  constructor(mss: number, burstSegments = 10, catchUpMs: number = PACING_CATCH_UP_MS) {
    this.burstSegments = burstSegments;
    this.catchUpMs = Math.max(0, catchUpMs);
    this.minimumBurst = mss * burstSegments;
    this.burst = this.minimumBurst;
    this.tokens = this.burst;
  }

  /** The segment size changed (path MTU discovery): the burst allowance counts segments. */
  setMss(mss: number): void {
    this.minimumBurst = mss * this.burstSegments;
    this.burst = Math.max(this.burst, this.minimumBurst);
  }

  /** Bytes per millisecond; Infinity disables pacing. */
  setRate(rate: number): void {
    this.rate = rate > 0 ? rate : Number.POSITIVE_INFINITY;
    this.burst = Number.isFinite(this.rate)
      ? Math.max(this.minimumBurst, this.rate * BURST_MS)
      : this.minimumBurst;
  }

  private refill(now: number): void {
    if (Number.isNaN(this.last)) this.last = now;
    if (now > this.dueAt) {
      // Woken late after a wait: the allowance grows by the lateness until the credit is spent.
      this.extra = Math.max(this.extra, this.rate * Math.min(now - this.dueAt, this.catchUpMs));
      this.dueAt = Number.NaN;
    }
    const elapsed = now - this.last;
    if (elapsed > 0) {
      this.tokens = Math.min(this.burst + this.extra, this.tokens + elapsed * this.rate);
      this.last = now;
    }
  }

  /** Milliseconds until `bytes` may be sent (0 when now). */
  delay(bytes: number, now: number): number {
    if (this.rate === Number.POSITIVE_INFINITY) return 0;
    this.refill(now);
    const need = Math.min(bytes, this.burst);
    // A byte of slack absorbs floating-point residue that would otherwise yield a zero-length wait.
    if (this.tokens + 1 >= need) {
      this.dueAt = Number.NaN;
      return 0;
    }
    const wait = Math.max((need - this.tokens) / this.rate, 0.01);
    this.dueAt = now + wait;
    return wait;
  }

  onSend(bytes: number, now: number): void {
    this.refill(now);
    this.tokens -= bytes;
    if (this.tokens <= this.burst) this.extra = 0;
    if (this.tokens < -this.burst) this.tokens = -this.burst;
  }
}
