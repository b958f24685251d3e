import { type RateLimit, TokenBucket } from './rate-limiter.js';

/**
 * Token buckets per key in a bounded table: when full, the oldest key is forgotten (it starts
 * afresh with a full bucket), so memory stays bounded whatever the number of keys a stranger makes up.
 */
export class KeyedBuckets<K> {
  readonly #limit: RateLimit;
  readonly #max: number;
  readonly #buckets = new Map<K, TokenBucket>();

  constructor(limit: RateLimit, maxKeys = 65_536) {
    this.#limit = limit;
    this.#max = maxKeys;
  }

  /** Takes one token from `key`'s bucket; false when it is empty. */
  take(key: K, now: number): boolean {
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.#max) {
        const oldest = this.#buckets.keys().next();
        if (oldest.done !== true) this.#buckets.delete(oldest.value);
      }
      bucket = new TokenBucket(this.#limit, now);
      this.#buckets.set(key, bucket);
    }
    return bucket.take(now);
  }

  /** Whether `key` has a token now (a key never seen has a full bucket); nothing is taken. */
  has(key: K, now: number): boolean {
    return this.#buckets.get(key)?.has(now) ?? true;
  }

  /** Forgets the keys whose buckets are full again. */
  prune(now: number): void {
    for (const [key, bucket] of this.#buckets) if (bucket.idle(now)) this.#buckets.delete(key);
  }

  get size(): number {
    return this.#buckets.size;
  }
}
