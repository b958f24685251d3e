import { SYN_RATE_GLOBAL, SYN_RATE_PER_SOURCE, SYN_TRACKED_SOURCES } from '../constants.js';
import { TokenBucket } from './token-bucket.js';

/**
 * SYNs one source may send back to back before its sustained rate applies. An agent opening a
 * burst of streams at once (50 parallel tool calls) is normal use, not a flood: with a burst the
 * size of the rate, most of those SYNs would wait for retransmission.
 */
export const SYN_BURST_PER_SOURCE = 64;

export interface SynLimiterOptions {
  readonly globalRate?: number;
  readonly perSourceRate?: number;
  /** Default: the larger of SYN_BURST_PER_SOURCE and the rate. */
  readonly perSourceBurst?: number;
  readonly trackedSources?: number;
}

/**
 * SYN admission (reference §6.2): a global bucket and one per source node, with the number of
 * tracked sources bounded (the least recently seen is forgotten) so a flood of sources cannot grow
 * memory. The per-source bucket is checked first so one noisy source cannot drain the global one.
 */
export class SynLimiter {
  private global: TokenBucket | undefined;
  private readonly sources = new Map<string, TokenBucket>();
  private readonly globalRate: number;
  private readonly perSourceRate: number;
  private readonly perSourceBurst: number;
  private readonly trackedSources: number;

  constructor(options: SynLimiterOptions = {}) {
    this.globalRate = options.globalRate ?? SYN_RATE_GLOBAL;
    this.perSourceRate = options.perSourceRate ?? SYN_RATE_PER_SOURCE;
    this.perSourceBurst = options.perSourceBurst ?? Math.max(SYN_BURST_PER_SOURCE, this.perSourceRate);
    this.trackedSources = options.trackedSources ?? SYN_TRACKED_SOURCES;
  }

  admit(source: string, now: number): boolean {
    let bucket = this.sources.get(source);
    if (bucket === undefined) {
      bucket = new TokenBucket(this.perSourceRate, this.perSourceBurst, now);
      if (this.sources.size >= this.trackedSources) {
        const oldest = this.sources.keys().next();
        if (oldest.done !== true) this.sources.delete(oldest.value);
      }
    } else {
      this.sources.delete(source);
    }
    this.sources.set(source, bucket);
    if (!bucket.take(now)) return false;
    this.global ??= new TokenBucket(this.globalRate, this.globalRate, now);
    return this.global.take(now);
  }
}
