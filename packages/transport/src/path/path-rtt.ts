import { MIN_RTO, SYN_INITIAL_RTO } from '../constants.js';

interface Remembered {
  readonly srtt: number;
  readonly rttvar: number;
  readonly at: number;
}

/** Peers whose round-trip time is remembered, and for how long (Linux keeps its tcp_metrics an hour). */
const LIMIT = 4096;
const TTL_MS = 600_000;
/** The quick first SYN retry never comes sooner than this (loopback RTTs are sub-millisecond). */
const QUICK_SYN_MIN = 30;

/**
 * The round-trip time last measured to each peer node, as Linux's tcp_metrics keeps per destination:
 * a new connection to a peer we already measured arms its SYN (and its first data) timer from that
 * RTT instead of the blind 1 s of RFC 6298 §2.1. On a 50 ms path with 1 % loss, 50 parallel dials
 * lose a SYN or SYN-ACK in most rounds (1 − 0.98⁵⁰ ≈ 64 %), and each such round waited a whole second
 * for it. The timer is never below MIN_RTO (200 ms) nor above the blind 1 s, and backs off as before.
 */
export class PathRttCache {
  readonly #entries = new Map<number, Remembered>();

  /** An RTT measured to `node` (srtt and rttvar in ms). */
  note(node: number, srtt: number, rttvar: number, now: number): void {
    if (!Number.isFinite(srtt) || srtt < 0 || !Number.isFinite(rttvar) || rttvar < 0) return;
    this.#entries.delete(node);
    this.#entries.set(node, { srtt, rttvar, at: now });
    if (this.#entries.size > LIMIT) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }

  /** The first retransmission timeout for a new connection to `node`, or undefined when unknown. */
  initialRto(node: number, now: number): number | undefined {
    const known = this.#entries.get(node);
    if (known === undefined) return undefined;
    if (now - known.at > TTL_MS) {
      this.#entries.delete(node);
      return undefined;
    }
    return Math.min(SYN_INITIAL_RTO, Math.max(MIN_RTO, known.srtt + 4 * known.rttvar));
  }

  /**
   * A first SYN retransmission for a new connection to `node`: two remembered RTTs (at least
   * QUICK_SYN_MIN), or undefined when unknown. It comes before the usual schedule (initialRto,
   * doubling), which it does not shorten: a spurious SYN costs a duplicate SYN-ACK, while a lost one
   * among 50 parallel dials at 50 ms RTT held the whole round up 200 ms instead of 100.
   */
  firstSynTimeout(node: number, now: number): number | undefined {
    if (this.initialRto(node, now) === undefined) return undefined;
    const known = this.#entries.get(node);
    return known === undefined ? undefined : Math.max(QUICK_SYN_MIN, 2 * known.srtt);
  }

  get size(): number {
    return this.#entries.size;
  }
}
