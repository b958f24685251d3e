import type { Aead } from './backend.js';
import { CryptoErrorCode, cryptoError } from './errors.js';

/**
 * A bound on how many AES-GCM instances keep their native cipher contexts at once (about 1 KB of
 * OpenSSL state per direction). A daemon keeps a tunnel key per peer, and most peers are idle most of
 * the time: with a budget, the least recently used keys beyond `limit` free their contexts (keeping
 * the 32 key bytes), and rebuild them on their next frame, a few microseconds. Pass one budget to
 * every sealer and opener of a tunnel manager (`contexts` in their options); it holds no timer.
 */
export class ContextBudget {
  readonly limit: number;
  /** In order of last use, oldest first (a Set iterates in insertion order). */
  readonly #live = new Set<Aead>();
  /** The instance used last: consecutive frames of one tunnel cost one comparison. */
  #last: Aead | undefined;

  constructor(limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw cryptoError(CryptoErrorCode.OUT_OF_RANGE, `a context budget needs a limit ≥ 1, got ${limit}`);
    }
    this.limit = limit;
  }

  /** Instances that may hold contexts now (those used since their last release). */
  get live(): number {
    return this.#live.size;
  }

  /** `aead` is about to be used: it becomes the most recent, and the oldest beyond the limit is released. */
  use(aead: Aead): void {
    if (aead === this.#last || aead.release === undefined) return;
    this.#last = aead;
    this.#live.delete(aead);
    this.#live.add(aead);
    if (this.#live.size <= this.limit) return;
    const oldest = this.#live.values().next().value;
    if (oldest === undefined) return;
    this.#live.delete(oldest);
    oldest.release?.();
  }

  /** `aead` is released (or discarded) by its owner: it no longer counts. */
  forget(aead: Aead): void {
    aead.release?.();
    this.#live.delete(aead);
    if (this.#last === aead) this.#last = undefined;
  }
}
