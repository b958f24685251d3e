/**
 * Datagram packetization-layer path MTU discovery (DPLPMTUD, RFC 8899) for one peer, sans-IO.
 *
 * The transport starts every path at the base size (its `maxDatagramSize`, 1200 bytes: what every
 * Pilot peer has always used) and only this prober raises it, one confirmed size at a time:
 *
 * - **Search** (§5.3.1): a probe is a padded packet of exactly the candidate size; an answer
 *   confirms the size, `MAX_PROBES` unanswered probes (one `probeTimeout` apart) make it the
 *   smallest size known to fail. The first candidate is the ceiling the caller allows for the path
 *   (loopback and LAN paths allow large ones); after a failure the search halves the interval
 *   between the largest confirmed and the smallest failed size, down to `SEARCH_GRANULARITY`.
 * - **Black-hole detection** (§4.3): the transport reports a retransmission timeout on the path.
 *   Above the base size the prober at once falls back to the base (so retransmissions get through
 *   whatever happened) and probes the confirmed size again: an answer restores it (the timeout was
 *   ordinary loss), `MAX_PROBES` silent probes declare a black hole and the search restarts below it.
 * - **Raise** (§5.1.1 PMTU_RAISE_TIMER): a search that ended below the ceiling is tried again after
 *   `raiseInterval`, since paths change.
 *
 * No ICMP is involved (Node cannot read it): only answered probes raise the size.
 */

/** Probes of one size before it counts as failed (RFC 8899 §5.1.2 MAX_PROBES). */
export const MAX_PROBES = 3;
/** The search stops when the confirmed and the failed sizes are closer than this. */
export const SEARCH_GRANULARITY = 16;
/**
 * Time an unanswered probe waits (RFC 8899 §5.1.1: not less than 1 s). Paths up to a few hundred
 * ms RTT answer well within it; a failed size therefore costs MAX_PROBES seconds.
 */
export const PROBE_TIMEOUT = 1000;
/** RFC 8899 PMTU_RAISE_TIMER (600 s). */
export const RAISE_INTERVAL = 600_000;

export type PathMtuState = 'searching' | 'complete' | 'confirming';

export interface PathMtuOptions {
  /** Datagram size every path starts with and falls back to (the transport's maxDatagramSize). */
  readonly base: number;
  /** Largest size to try on this path. */
  readonly ceiling: number;
  readonly probeTimeout?: number;
  readonly raiseInterval?: number;
}

/** Counters a caller may show (`pilotctl info`, benches). */
export interface PathMtuStats {
  probesSent: number;
  probesAnswered: number;
  probesLost: number;
  blackHoles: number;
}

export class PathMtuProber {
  readonly base: number;
  readonly ceiling: number;
  private readonly probeTimeout: number;
  private readonly raiseInterval: number;
  private stateValue: PathMtuState = 'searching';
  /** The size packets use now. */
  private effective: number;
  /** Largest size an answer confirmed. */
  private confirmed: number;
  /** Smallest size known to fail (ceiling + 1 while none did). */
  private failed: number;
  /** The size of the probe in flight, or 0. */
  private probing = 0;
  private probeCount = 0;
  private probeDeadline = Number.POSITIVE_INFINITY;
  private raiseAt = Number.POSITIVE_INFINITY;
  /** Set when a probe should go out at the next poll. */
  private due = true;
  readonly stats: PathMtuStats = { probesSent: 0, probesAnswered: 0, probesLost: 0, blackHoles: 0 };

  constructor(options: PathMtuOptions) {
    this.base = options.base;
    this.ceiling = Math.max(options.base, options.ceiling);
    this.probeTimeout = options.probeTimeout ?? PROBE_TIMEOUT;
    this.raiseInterval = options.raiseInterval ?? RAISE_INTERVAL;
    this.effective = this.base;
    this.confirmed = this.base;
    this.failed = this.ceiling + 1;
    if (this.ceiling === this.base) {
      this.stateValue = 'complete';
      this.due = false;
    }
  }

  get state(): PathMtuState {
    return this.stateValue;
  }

  /** The datagram size to packetize for now. */
  get size(): number {
    return this.effective;
  }

  /** The probe size in flight (0 when none). */
  get probeSize(): number {
    return this.probing;
  }

  /**
   * The size of a probe to send now, or 0. The caller sends exactly one packet of that size and
   * reports its answer with `onProbeAnswered(size)`.
   */
  pollProbe(now: number): number {
    if (!this.due) return 0;
    this.due = false;
    const size = this.stateValue === 'confirming' ? this.confirmed : this.nextCandidate();
    if (size === 0) {
      this.finish(now);
      return 0;
    }
    if (size !== this.probing) this.probeCount = 0;
    this.probing = size;
    this.probeCount++;
    this.probeDeadline = now + this.probeTimeout;
    this.stats.probesSent++;
    return size;
  }

  /** An answer to a probe of `size` arrived. Returns true when the effective size changed. */
  onProbeAnswered(size: number, now: number): boolean {
    if (size !== this.probing) return false;
    this.stats.probesAnswered++;
    this.probing = 0;
    this.probeCount = 0;
    this.probeDeadline = Number.POSITIVE_INFINITY;
    const before = this.effective;
    if (size > this.confirmed) this.confirmed = size;
    this.effective = this.confirmed;
    this.stateValue = 'searching';
    if (this.nextCandidate() === 0) this.finish(now);
    else this.due = true;
    return this.effective !== before;
  }

  /**
   * A retransmission timeout on this path: maybe a black hole. Returns true when the effective size
   * changed (it drops to the base until the confirmed size answers again).
   */
  onRetransmissionTimeout(): boolean {
    if (this.effective === this.base || this.stateValue === 'confirming') return false;
    this.stateValue = 'confirming';
    this.effective = this.base;
    this.probing = 0;
    this.probeCount = 0;
    this.due = true;
    this.raiseAt = Number.POSITIVE_INFINITY;
    this.probeDeadline = Number.POSITIVE_INFINITY;
    return true;
  }

  /** The earliest time `onTimeout` has work (Infinity when none). */
  nextTimeout(): number {
    if (this.due) return Number.NEGATIVE_INFINITY;
    return Math.min(this.probeDeadline, this.raiseAt);
  }

  /** Whether `pollProbe` has something now. */
  get wantsProbe(): boolean {
    return this.due;
  }

  onTimeout(now: number): void {
    if (this.probeDeadline <= now) {
      this.probeDeadline = Number.POSITIVE_INFINITY;
      this.stats.probesLost++;
      if (this.probeCount < MAX_PROBES) {
        this.due = true;
        return;
      }
      const size = this.probing;
      this.probing = 0;
      this.probeCount = 0;
      if (this.stateValue === 'confirming') {
        // The confirmed size stopped getting through: a black hole. Search again below it.
        this.stats.blackHoles++;
        this.failed = size;
        this.confirmed = this.base;
        this.stateValue = 'searching';
      } else if (size < this.failed) {
        this.failed = size;
      }
      this.due = true;
    }
    if (this.raiseAt <= now) {
      this.raiseAt = Number.POSITIVE_INFINITY;
      this.failed = this.ceiling + 1;
      this.stateValue = 'searching';
      this.due = true;
    }
  }

  /** The next size to probe while searching, or 0 when the search is over. */
  private nextCandidate(): number {
    if (this.confirmed >= this.ceiling) return 0;
    if (this.failed > this.ceiling) return this.ceiling;
    if (this.failed - this.confirmed <= SEARCH_GRANULARITY) return 0;
    // Halve the interval; a multiple of 4 keeps sizes tidy.
    return (this.confirmed + Math.floor((this.failed - this.confirmed) / 2)) & ~3;
  }

  private finish(now: number): void {
    this.stateValue = 'complete';
    this.probing = 0;
    this.probeDeadline = Number.POSITIVE_INFINITY;
    this.raiseAt = this.confirmed < this.ceiling ? now + this.raiseInterval : Number.POSITIVE_INFINITY;
  }
}
