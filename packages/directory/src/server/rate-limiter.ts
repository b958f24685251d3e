/** Requests per second allowed on average, and how many may come at once after a quiet spell. */
export type RateLimit = { readonly perSecond: number; readonly burst: number };

/** A token bucket on a monotonic clock in milliseconds. */
export class TokenBucket {
  readonly #limit: RateLimit;
  #tokens: number;
  #at: number;

  constructor(limit: RateLimit, now: number) {
    this.#limit = limit;
    this.#tokens = limit.burst;
    this.#at = now;
  }

  /** Takes one token; false when the bucket is empty (the request is over the limit). */
  take(now: number): boolean {
    this.#refill(now);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Whether a token is there now (nothing is taken). */
  has(now: number): boolean {
    this.#refill(now);
    return this.#tokens >= 1;
  }

  /** True when the bucket is full again: its source has been quiet long enough to forget. */
  idle(now: number): boolean {
    this.#refill(now);
    return this.#tokens >= this.#limit.burst;
  }

  #refill(now: number): void {
    const elapsed = now - this.#at;
    if (elapsed > 0) {
      this.#tokens = Math.min(this.#limit.burst, this.#tokens + (elapsed * this.#limit.perSecond) / 1000);
      this.#at = now;
    }
  }
}
