/** At high rates the burst allowance covers this many milliseconds at the rate (cf. Linux's ~1 ms TSO bursts). */
const BURST_MS = 2;

/**
 * A token-bucket pacer: bytes leave at the congestion controller's pacing rate, with a burst
 * allowance of `burstSegments` or 2 ms at the rate, whichever is more, so that a driver whose timers
 * tick at 1 ms can fill a fast path without spinning on sub-millisecond waits. Unpaced windows
 * lose 4–58% on loopback (the receiver runs out of CPU), so every stream segment goes through here.
 */
export class Pacer {
  private tokens: number;
  private last = Number.NaN;
  private rate = Number.POSITIVE_INFINITY;
  private burst: number;
  private minimumBurst: number;
  private readonly burstSegments: number;

  constructor(mss: number, burstSegments = 10) {
    this.burstSegments = burstSegments;
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
    const elapsed = now - this.last;
    if (elapsed > 0) {
      this.tokens = Math.min(this.burst, this.tokens + elapsed * this.rate);
      this.last = now;
    }
  }

  /** Milliseconds until `bytes` may be sent (0 when now). */
  delay(bytes: number, now: number): number {
    if (this.rate === Number.POSITIVE_INFINITY) return 0;
    this.refill(now);
    const need = Math.min(bytes, this.burst);
    // A byte of slack absorbs floating-point residue that would otherwise yield a zero-length wait.
    if (this.tokens + 1 >= need) return 0;
    return Math.max((need - this.tokens) / this.rate, 0.01);
  }

  onSend(bytes: number, now: number): void {
    this.refill(now);
    this.tokens -= bytes;
    if (this.tokens < -this.burst) this.tokens = -this.burst;
  }
}
