import {
  type CongestionController,
  DEFAULT_MAX_WINDOW,
  defaultInitialWindow,
} from './congestion-controller.js';

/** RFC 9438 constants: C (segments/s³) and the multiplicative decrease β. */
export interface CubicOptions {
  readonly initialWindow?: number;
  readonly minimumWindow?: number;
  readonly maxWindow?: number;
  readonly c?: number;
  readonly beta?: number;
  readonly pacingGain?: number;
}

/**
 * CUBIC (RFC 9438): after a loss the window shrinks to β = 0.7 of itself (not half), then grows
 * along a cubic curve centred on the window where the loss happened, concave up to it and convex
 * beyond; the Reno-friendly estimate (§4.3) keeps it at least as fast as AIMD. With random loss
 * on a long path this keeps far more in flight than New-Reno, as TCP CUBIC does. Slow start,
 * recovery periods and pacing are as in `NewReno`. Select it with
 * `EndpointOptions.congestionController: createCubic`.
 */
export class Cubic implements CongestionController {
  private cwnd: number;
  private ssthresh = Number.POSITIVE_INFINITY;
  private recoveryStart = Number.NEGATIVE_INFINITY;
  /** Window (bytes) before the last reduction, and the start of the current growth epoch. */
  private wMax = 0;
  private epochStart = Number.NaN;
  private k = 0;
  private wEst = 0;
  private readonly mss: number;
  private readonly minimumWindow: number;
  private readonly maxWindow: number;
  private readonly c: number;
  private readonly beta: number;
  private readonly alpha: number;
  private readonly pacingGain: number;

  constructor(mss: number, options: CubicOptions = {}) {
    this.mss = mss;
    this.cwnd = options.initialWindow ?? defaultInitialWindow(mss);
    this.minimumWindow = options.minimumWindow ?? 2 * mss;
    this.maxWindow = options.maxWindow ?? DEFAULT_MAX_WINDOW;
    this.c = options.c ?? 0.4;
    this.beta = options.beta ?? 0.7;
    this.alpha = (3 * (1 - this.beta)) / (1 + this.beta);
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

  onAck(bytes: number, sentTime: number, now: number): void {
    if (bytes <= 0 || this.inRecovery(sentTime)) return;
    if (this.cwnd < this.ssthresh) {
      this.cwnd = Math.min(this.cwnd + bytes, this.maxWindow);
      return;
    }
    const mss = this.mss;
    if (Number.isNaN(this.epochStart)) {
      this.epochStart = now;
      this.wEst = this.cwnd;
      if (this.cwnd < this.wMax) this.k = Math.cbrt((this.wMax - this.cwnd) / mss / this.c);
      else {
        this.k = 0;
        this.wMax = this.cwnd;
      }
    }
    const t = (now - this.epochStart) / 1000 - this.k;
    let target = this.wMax + this.c * t * t * t * mss;
    // RFC 9438 §4.2: the target lies between cwnd and 1.5·cwnd.
    target = Math.min(Math.max(target, this.cwnd), 1.5 * this.cwnd);
    // §4.3: never slower than AIMD with the same average window.
    this.wEst += (this.alpha * mss * bytes) / this.cwnd;
    if (this.wEst > target) target = this.wEst;
    if (target > this.cwnd) this.cwnd += Math.max(1, Math.floor(((target - this.cwnd) * bytes) / this.cwnd));
    if (this.cwnd > this.maxWindow) this.cwnd = this.maxWindow;
  }

  onCongestionEvent(sentTime: number, now: number): void {
    if (this.inRecovery(sentTime)) return;
    this.recoveryStart = now;
    this.epochStart = Number.NaN;
    // Fast convergence (§4.7): a window below the last maximum releases bandwidth to others.
    this.wMax = this.cwnd < this.wMax ? (this.cwnd * (1 + this.beta)) / 2 : this.cwnd;
    this.ssthresh = Math.max(Math.floor(this.cwnd * this.beta), this.minimumWindow);
    this.cwnd = this.ssthresh;
  }

  onRetransmissionTimeout(now: number): void {
    if (!this.inRecovery(now)) {
      this.wMax = this.cwnd;
      this.ssthresh = Math.max(Math.floor(this.cwnd * this.beta), this.minimumWindow);
    }
    this.recoveryStart = now;
    this.epochStart = Number.NaN;
    this.cwnd = this.minimumWindow;
  }

  pacingRate(srtt: number): number {
    return (this.pacingGain * this.cwnd) / Math.max(srtt, 0.001);
  }
}

export function createCubic(mss: number): CongestionController {
  return new Cubic(mss);
}
