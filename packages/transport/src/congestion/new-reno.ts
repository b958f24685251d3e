import {
  type CongestionController,
  DEFAULT_MAX_WINDOW,
  defaultInitialWindow,
} from './congestion-controller.js';

/** RFC 9002 §7 constants (kInitialWindow, kMinimumWindow, kLossReductionFactor) plus a cap. */
export interface NewRenoOptions {
  readonly initialWindow?: number;
  readonly minimumWindow?: number;
  readonly maxWindow?: number;
  readonly lossReductionFactor?: number;
  /** RFC 9002 §7.7: pace at N × cwnd/SRTT so that ACK-clocking jitter does not starve the link. */
  readonly pacingGain?: number;
}

/**
 * AIMD as the seeds describe it and RFC 9002 specifies it: slow start (cwnd grows by the bytes
 * acknowledged), congestion avoidance (one MSS per window), a halving once per recovery period.
 */
export class NewReno implements CongestionController {
  private cwnd: number;
  private ssthresh = Number.POSITIVE_INFINITY;
  private recoveryStart = Number.NEGATIVE_INFINITY;
  private readonly mss: number;
  private readonly minimumWindow: number;
  private readonly maxWindow: number;
  private readonly reduction: number;
  private readonly pacingGain: number;

  constructor(mss: number, options: NewRenoOptions = {}) {
    this.mss = mss;
    this.cwnd = options.initialWindow ?? defaultInitialWindow(mss);
    this.minimumWindow = options.minimumWindow ?? 2 * mss;
    this.maxWindow = options.maxWindow ?? DEFAULT_MAX_WINDOW;
    this.reduction = options.lossReductionFactor ?? 0.5;
    this.pacingGain = options.pacingGain ?? 1.25;
  }

  get window(): number {
    return this.cwnd;
  }
  get slowStartThreshold(): number {
    return this.ssthresh;
  }
  get inSlowStart(): boolean {
    return this.cwnd < this.ssthresh;
  }

  inRecovery(sentTime: number): boolean {
    return sentTime <= this.recoveryStart;
  }

  onAck(bytes: number, sentTime: number, _now: number): void {
    if (bytes <= 0 || this.inRecovery(sentTime)) return;
    if (this.cwnd < this.ssthresh) this.cwnd += bytes;
    else this.cwnd += Math.max(1, Math.floor((this.mss * bytes) / this.cwnd));
    if (this.cwnd > this.maxWindow) this.cwnd = this.maxWindow;
  }

  onCongestionEvent(sentTime: number, now: number): void {
    if (this.inRecovery(sentTime)) return;
    this.recoveryStart = now;
    this.ssthresh = Math.max(Math.floor(this.cwnd * this.reduction), this.minimumWindow);
    this.cwnd = this.ssthresh;
  }

  onRetransmissionTimeout(now: number): void {
    if (!this.inRecovery(now))
      this.ssthresh = Math.max(Math.floor(this.cwnd * this.reduction), this.minimumWindow);
    this.recoveryStart = now;
    this.cwnd = this.minimumWindow;
  }

  pacingRate(srtt: number): number {
    return (this.pacingGain * this.cwnd) / Math.max(srtt, 0.001);
  }
}

export function createNewReno(mss: number): CongestionController {
  return new NewReno(mss);
}
