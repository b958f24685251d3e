import { CLOCK_GRANULARITY, INITIAL_RTO, MAX_RTO, MIN_RTO } from '../constants.js';

export interface RttEstimatorOptions {
  readonly initialRto?: number;
  readonly minRto?: number;
  readonly maxRto?: number;
  readonly granularity?: number;
}

/**
 * RFC 6298 round-trip estimation with exponential back-off. Karn's rule (never sample a
 * retransmitted segment) is applied by the caller, which alone knows how often a segment went out.
 */
export class RttEstimator {
  private srttValue = 0;
  private rttvar = 0;
  private minRttValue = Number.POSITIVE_INFINITY;
  private latest = 0;
  private hasSample = false;
  private backoffCount = 0;
  private readonly initialRto: number;
  private readonly minRto: number;
  private readonly maxRto: number;
  private readonly granularity: number;

  constructor(options: RttEstimatorOptions = {}) {
    this.initialRto = options.initialRto ?? INITIAL_RTO;
    this.minRto = options.minRto ?? MIN_RTO;
    this.maxRto = options.maxRto ?? MAX_RTO;
    this.granularity = options.granularity ?? CLOCK_GRANULARITY;
  }

  /** Feeds one RTT measurement (ms). */
  update(sample: number): void {
    if (!(sample >= 0) || !Number.isFinite(sample)) return;
    this.latest = sample;
    if (sample < this.minRttValue) this.minRttValue = sample;
    if (!this.hasSample) {
      this.srttValue = sample;
      this.rttvar = sample / 2;
      this.hasSample = true;
      return;
    }
    this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srttValue - sample);
    this.srttValue = 0.875 * this.srttValue + 0.125 * sample;
  }

  get hasSamples(): boolean {
    return this.hasSample;
  }
  /** Smoothed RTT, or undefined before the first sample. */
  get srtt(): number | undefined {
    return this.hasSample ? this.srttValue : undefined;
  }
  get rttVariance(): number {
    return this.rttvar;
  }
  get minRtt(): number | undefined {
    return this.hasSample ? this.minRttValue : undefined;
  }
  get latestRtt(): number | undefined {
    return this.hasSample ? this.latest : undefined;
  }
  get backoff(): number {
    return this.backoffCount;
  }

  /** RTO before back-off: SRTT + max(G, 4·RTTVAR), clamped to [min, max]. */
  baseRto(): number {
    if (!this.hasSample) return Math.min(Math.max(this.initialRto, this.minRto), this.maxRto);
    const rto = this.srttValue + Math.max(this.granularity, 4 * this.rttvar);
    return Math.min(Math.max(rto, this.minRto), this.maxRto);
  }

  /** The RTO to arm now: the base doubled once per unanswered timeout, capped. */
  rto(): number {
    return Math.min(this.baseRto() * 2 ** this.backoffCount, this.maxRto);
  }

  /** Called when a retransmission timer fires: the next RTO doubles (until the cap). */
  onTimeout(): void {
    if (this.baseRto() * 2 ** this.backoffCount < this.maxRto) this.backoffCount++;
  }

  /** Called when new data is acknowledged: the back-off ends. */
  resetBackoff(): void {
    this.backoffCount = 0;
  }
}
