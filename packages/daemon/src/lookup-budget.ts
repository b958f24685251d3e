import { DaemonErrorCode, daemonError } from './errors.js';

export interface LookupBudgetOptions {
  /** Lookups started per second on average. */
  readonly perSecond: number;
  /** Lookups that may start at once after a quiet spell. */
  readonly burst: number;
  /** Lookups waiting for the registry at once. */
  readonly maxInFlight: number;
  /** Clock in ms (tests). Default performance.now. */
  readonly now?: () => number;
}

/**
 * The budget of registry lookups that strangers cause: every PILA from a node we have no key for
 * makes the tunnel ask the registry for that node's key, over the same registry connection as our
 * heartbeats. Over the rate, or with `maxInFlight` lookups already waiting, a lookup is refused at
 * once (DAEMON_BUDGET_SPENT: the PILA is dropped and its sender tries again later), so a heartbeat
 * never waits behind more than `maxInFlight` of them. The tunnel's negative cache (10 s) and
 * per-node deduplication sit in front of it; lookups for pinned (trusted) peers bypass it.
 */
export class LookupBudget {
  readonly #options: LookupBudgetOptions;
  readonly #now: () => number;
  #tokens: number;
  #at: number;
  #inFlight = 0;
  /** Lookups refused since the start. */
  refused = 0;

  constructor(options: LookupBudgetOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    this.#tokens = options.burst;
    this.#at = this.#now();
  }

  /** Runs `lookup` within the budget, or rejects with DAEMON_BUDGET_SPENT without running it. */
  async run<T>(lookup: () => Promise<T>): Promise<T> {
    const now = this.#now();
    this.#tokens = Math.min(
      this.#options.burst,
      this.#tokens + ((now - this.#at) * this.#options.perSecond) / 1000,
    );
    this.#at = now;
    if (this.#inFlight >= this.#options.maxInFlight || this.#tokens < 1) {
      this.refused++;
      throw daemonError(DaemonErrorCode.BUDGET_SPENT, 'registry lookup budget spent');
    }
    this.#tokens -= 1;
    this.#inFlight++;
    try {
      return await lookup();
    } finally {
      this.#inFlight--;
    }
  }

  get inFlight(): number {
    return this.#inFlight;
  }
}
