/**
 * Node IDs the registry said it does not know, remembered for a while, so that PILAs naming them
 * again are dropped without a lookup. Its own table, apart from the tunnel's key cache: a flood of
 * random IDs fills this one (oldest forgotten first) and never pushes real peers' keys out.
 */
export class NegativeCache {
  readonly #ttlMs: number;
  readonly #limit: number;
  readonly #now: () => number;
  /** node ID → when the registry said "not found"; oldest first. */
  readonly #entries = new Map<number, number>();
  /** Lookups answered from the cache since the start. */
  hits = 0;

  constructor(options: { readonly ttlMs: number; readonly limit?: number; readonly now?: () => number }) {
    this.#ttlMs = options.ttlMs;
    this.#limit = options.limit ?? 8192;
    this.#now = options.now ?? (() => performance.now());
  }

  /** True when `nodeId` was unknown to the registry less than ttlMs ago. */
  has(nodeId: number): boolean {
    const at = this.#entries.get(nodeId);
    if (at === undefined) return false;
    if (this.#now() - at >= this.#ttlMs) {
      this.#entries.delete(nodeId);
      return false;
    }
    this.hits++;
    return true;
  }

  add(nodeId: number): void {
    if (this.#ttlMs <= 0) return;
    this.#entries.delete(nodeId);
    this.#entries.set(nodeId, this.#now());
    if (this.#entries.size > this.#limit) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }

  /** A node that registered after all (we learnt its key another way). */
  delete(nodeId: number): void {
    this.#entries.delete(nodeId);
  }

  get size(): number {
    return this.#entries.size;
  }
}
