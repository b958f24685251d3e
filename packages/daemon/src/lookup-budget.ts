import { DaemonErrorCode, daemonError } from './errors.js';

export interface LookupBudgetOptions {
  /** Lookups started per second on average, all sources together. */
  readonly perSecond: number;
  /** Lookups that may start at once after a quiet spell. */
  readonly burst: number;
  /** Lookups waiting for the registry at once. */
  readonly maxInFlight: number;
  /** Lookups started per second for one source (a UDP address, or the relay). Default: no per-source limit. */
  readonly perSourcePerSecond?: number;
  /** Per-source burst. Default 2 × perSourcePerSecond. */
  readonly perSourceBurst?: number;
  /** Sources remembered at once (the least recently seen is forgotten first). Default 4096. */
  readonly maxSources?: number;
  /** Clock in ms (tests). Default performance.now. */
  readonly now?: () => number;
}

/** A token bucket: `take()` is false when empty. */
class Bucket {
  #tokens: number;
  #at: number;
  constructor(
    readonly perSecond: number,
    readonly burst: number,
    now: number,
  ) {
    this.#tokens = burst;
    this.#at = now;
  }
  /** Refills to `now`; true when a token is there (it is not taken yet). */
  has(now: number): boolean {
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) * this.perSecond) / 1000);
    this.#at = now;
    return this.#tokens >= 1;
  }
  take(): void {
    this.#tokens -= 1;
  }
}

/** Why a lookup was refused (info's budgets.refused has one counter each). */
export interface LookupRefusals {
  readonly rate: number;
  readonly perSource: number;
  readonly inFlight: number;
}

/**
 * The budget of registry lookups that strangers cause: every PILA from a node we have no key for
 * makes the tunnel ask the registry for that node's key, over the same registry connection as our
 * heartbeats. Such a lookup must find a token in its source's bucket (so one flooding address cannot
 * spend the budget of everyone else's first contact) and in the global one, and fewer than
 * `maxInFlight` may wait at once; otherwise it is refused at once (DAEMON_BUDGET_SPENT: the PILA is
 * dropped and its sender tries again later). The lookups that pass wait in the registry client's
 * background lane, behind every heartbeat, poll and lookup of our own (request-lanes.ts). The
 * negative cache (negative-cache.ts) and the tunnel's per-node deduplication sit in front of it;
 * lookups for pinned (trusted) peers bypass it.
 */
export class LookupBudget {
  readonly #options: LookupBudgetOptions;
  readonly #now: () => number;
  readonly #global: Bucket;
  /** Lookups for pinned peers caused by PILAs (a key rotation) have their own global bucket. */
  readonly #trusted: Bucket;
  readonly #sources = new Map<string, Bucket>();
  #inFlight = 0;
  readonly #refusals = { rate: 0, perSource: 0, inFlight: 0 };

  constructor(options: LookupBudgetOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    this.#global = new Bucket(options.perSecond, options.burst, this.#now());
    this.#trusted = new Bucket(options.perSecond, options.burst, this.#now());
  }

  /** Lookups refused since the start, all reasons. */
  get refused(): number {
    return this.#refusals.rate + this.#refusals.perSource + this.#refusals.inFlight;
  }

  get refusals(): LookupRefusals {
    return { ...this.#refusals };
  }

  /** Sources with a bucket now (bounded by maxSources). */
  get sources(): number {
    return this.#sources.size;
  }

  /**
   * Runs `lookup` within the budget of `source` (undefined: the global budget only), or rejects
   * with DAEMON_BUDGET_SPENT without running it. `trusted`: the node named is a pinned peer (a key
   * rotation is the only reason to ask again), so its tokens come from a global bucket of their own
   * that strangers' lookups cannot spend.
   */
  async run<T>(lookup: () => Promise<T>, source?: string, trusted = false): Promise<T> {
    const now = this.#now();
    if (this.#inFlight >= this.#options.maxInFlight) return this.#refuse('inFlight');
    // A pinned peer may share its address with a flooder (one NAT): its lookups skip the source's bucket.
    const bucket = source === undefined || trusted ? undefined : this.#bucket(source, now);
    // The source's own bucket first: a flooding source spends only its own tokens.
    if (bucket !== undefined && !bucket.has(now)) return this.#refuse('perSource');
    const global = trusted ? this.#trusted : this.#global;
    if (!global.has(now)) return this.#refuse('rate');
    bucket?.take();
    global.take();
    this.#inFlight++;
    try {
      return await lookup();
    } finally {
      this.#inFlight--;
    }
  }

  #refuse(reason: keyof LookupRefusals): never {
    this.#refusals[reason]++;
    throw daemonError(DaemonErrorCode.BUDGET_SPENT, 'registry lookup budget spent');
  }

  #bucket(source: string, now: number): Bucket | undefined {
    const perSecond = this.#options.perSourcePerSecond;
    if (perSecond === undefined) return undefined;
    let bucket = this.#sources.get(source);
    if (bucket !== undefined) {
      // Most recently seen last, so the first entry is the one to forget.
      this.#sources.delete(source);
    } else {
      bucket = new Bucket(perSecond, this.#options.perSourceBurst ?? 2 * perSecond, now);
      if (this.#sources.size >= (this.#options.maxSources ?? 4096)) {
        const oldest = this.#sources.keys().next().value;
        if (oldest !== undefined) this.#sources.delete(oldest);
      }
    }
    this.#sources.set(source, bucket);
    return bucket;
  }

  get inFlight(): number {
    return this.#inFlight;
  }
}
