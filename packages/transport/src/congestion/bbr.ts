import {
  type CongestionController,
  DEFAULT_MAX_WINDOW,
  type DeliveryRateSample,
  defaultInitialWindow,
} from './congestion-controller.js';

/** BBR v1 constants (draft-cardwell-iccrg-bbr-congestion-control-00 and Linux tcp_bbr.c). */
export interface BbrOptions {
  readonly initialWindow?: number;
  /** Floor of the window (default 4·MSS, BBR's minimum); also the window after an RTO and in PROBE_RTT. */
  readonly minimumWindow?: number;
  readonly maxWindow?: number;
  /** Round trips the maximum-bandwidth filter spans (default 10). */
  readonly bandwidthWindowRounds?: number;
  /** Milliseconds the minimum-RTT filter spans before PROBE_RTT re-measures it (default 10 s). */
  readonly minRttWindow?: number;
  /** Milliseconds PROBE_RTT holds the window at its floor (default 200). */
  readonly probeRttDuration?: number;
  /**
   * A PROBE_BW probe that raised the bandwidth estimate by this factor probes again at once instead
   * of cruising six round trips (default 1.15; Infinity: BBR v1's fixed cycle).
   */
  readonly reprobeGrowth?: number;
}

/** The four states of BBR v1. */
export const BbrState = {
  STARTUP: 'STARTUP',
  DRAIN: 'DRAIN',
  PROBE_BW: 'PROBE_BW',
  PROBE_RTT: 'PROBE_RTT',
} as const;
export type BbrState = (typeof BbrState)[keyof typeof BbrState];

/** 2/ln 2: the smallest gain that doubles the sending rate every round trip in STARTUP. */
const HIGH_GAIN = 2 / Math.LN2;
const DRAIN_GAIN = 1 / HIGH_GAIN;
const CWND_GAIN = 2;
const PACING_GAIN_CYCLE = [1.25, 0.75, 1, 1, 1, 1, 1, 1] as const;
/**
 * A probe (gain 1.25) whose samples raised the bandwidth estimate by 15 % or more found a pipe that
 * was not full: the next probe follows its drain phase at once instead of six cruising round trips.
 * BBR v1 grows its estimate by at most a quarter per eight round trips after STARTUP, so a STARTUP
 * that ended early (a receiver descheduled for a few round trips, a lossy start) took seconds to
 * climb back (the lab at 5 % loss: 4 → 15 MB/s over ~3 s of a 32 MiB transfer). Each repeat still
 * needs the path to deliver 15 % more than ever before, so at a real bottleneck (no growth) the
 * cycle is v1's: the estimate cannot run away from what the path delivers.
 */
const REPROBE_GROWTH = 1.15;
/** STARTUP ends when three round trips in a row grew the bandwidth by less than a quarter. */
const FULL_BW_GROWTH = 1.25;
const FULL_BW_ROUNDS = 3;
/** ACK aggregation allowance (Linux 4.20+): the largest excess over ~5 rounds, at most 100 ms of bandwidth. */
const EXTRA_ACKED_WINDOW_ROUNDS = 5;
const EXTRA_ACKED_MAX_MS = 100;
const EXTRA_ACKED_EPOCH_RESET = 1 << 20;

/**
 * The shortest round trip the window is sized for: the driver's timers tick at 1 ms and the event
 * loop batches packets, so on loopback (min RTT ~0.1 ms) a window of 2 × bandwidth × min RTT
 * starved the sender between wake-ups. Paths longer than this are unaffected.
 */
const RTT_FLOOR = 10;

/** One round trip's largest bandwidth sample. */
interface RoundMax {
  round: number;
  bandwidth: number;
}

/**
 * A model-based controller in the manner of BBR v1: it measures the bottleneck bandwidth (the
 * largest delivery rate over ~10 round trips) and the propagation delay (the smallest RTT over
 * ~10 s), paces at a gain times that bandwidth, and keeps at most twice their product in flight.
 * Random loss does not shrink the window, so a lossy long path stays full where AIMD collapses
 * to ~MSS/RTT·1.2/√p; an RTO drops the window to its floor until a round trip proves the path
 * alive. State machine: STARTUP (gain 2.89 until the bandwidth stops growing) → DRAIN (the queue
 * STARTUP built) → PROBE_BW (pacing gains 1.25, 0.75, 1 ×6, one phase per min RTT), and PROBE_RTT
 * (window at the floor for 200 ms) when the min RTT has not been seen for 10 s.
 */
export class Bbr implements CongestionController {
  private cwnd: number;
  private stateValue: BbrState = BbrState.STARTUP;
  private pacingGain = HIGH_GAIN;
  private cwndGain = HIGH_GAIN;
  private pacing = Number.NaN;

  private readonly bandwidthRounds: RoundMax[] = [];
  private bandwidthValue = 0;
  private minRttValue = Number.POSITIVE_INFINITY;
  private minRttStamp = Number.NaN;

  private roundCount = 0;
  private nextRoundDelivered = 0;
  private roundStart = false;

  private fullBandwidth = 0;
  private fullBandwidthCount = 0;
  private filledPipe = false;

  private cycleIndex = 0;
  private cycleStamp = 0;
  private lossInRound = false;
  /** The bandwidth estimate when the current probe (gain 1.25) began. */
  private probeBase = 0;

  private priorCwnd = 0;
  private probeRttDone = Number.NaN;
  private probeRttRoundDone = false;
  private restoreAfterRto = false;
  private lastTotalDelivered = 0;

  /** The largest ACK-aggregation excess in the current and the previous window of rounds. */
  private extraAckedCurrent = 0;
  private extraAckedPrevious = 0;
  private extraAckedRounds = 0;
  private ackEpochStart = Number.NaN;
  private ackEpochAcked = 0;

  private readonly mss: number;
  private readonly initialWindow: number;
  private readonly minimumWindow: number;
  private readonly maxWindow: number;
  private readonly bandwidthWindowRounds: number;
  private readonly minRttWindow: number;
  private readonly probeRttDuration: number;
  private readonly reprobeGrowth: number;

  constructor(mss: number, options: BbrOptions = {}) {
    this.mss = mss;
    this.initialWindow = options.initialWindow ?? defaultInitialWindow(mss);
    this.minimumWindow = options.minimumWindow ?? 4 * mss;
    this.maxWindow = options.maxWindow ?? DEFAULT_MAX_WINDOW;
    this.bandwidthWindowRounds = options.bandwidthWindowRounds ?? 10;
    this.minRttWindow = options.minRttWindow ?? 10_000;
    this.probeRttDuration = options.probeRttDuration ?? 200;
    this.reprobeGrowth = options.reprobeGrowth ?? REPROBE_GROWTH;
    this.cwnd = this.initialWindow;
  }

  get window(): number {
    return this.cwnd;
  }
  get slowStartThreshold(): number {
    return Number.POSITIVE_INFINITY;
  }
  get inSlowStart(): boolean {
    return this.stateValue === BbrState.STARTUP;
  }
  get state(): BbrState {
    return this.stateValue;
  }
  /** Bottleneck bandwidth estimate, bytes per millisecond (0 before the first sample). */
  get bandwidth(): number {
    return this.bandwidthValue;
  }
  /** Propagation delay estimate, milliseconds (Infinity before the first sample). */
  get minRtt(): number {
    return this.minRttValue;
  }
  get round(): number {
    return this.roundCount;
  }

  inRecovery(_sentTime: number): boolean {
    return false;
  }

  /** Everything happens in `onDeliveryRateSample`, which the connection calls for the same ACK. */
  onAck(_bytes: number, _sentTime: number, _now: number): void {}

  onDeliveryRateSample(sample: DeliveryRateSample, now: number): void {
    this.lastTotalDelivered = sample.totalDelivered;
    this.updateRound(sample);
    const minRttExpired = this.updateMinRttFilter(sample, now);
    this.updateBandwidth(sample);
    this.updateAckAggregation(sample, now);
    this.updateCyclePhase(sample, now);
    this.checkFullPipe(sample);
    this.checkDrain(sample, now);
    this.updateProbeRtt(sample, minRttExpired, now);
    this.updatePacingRate();
    this.updateWindow(sample);
    if (this.roundStart) this.lossInRound = false;
  }

  /** Random loss is not congestion to BBR: it only ends a bandwidth probe early. */
  onCongestionEvent(_sentTime: number, _now: number): void {
    this.lossInRound = true;
  }

  onRetransmissionTimeout(_now: number): void {
    if (!this.restoreAfterRto) this.priorCwnd = this.savedWindow();
    this.restoreAfterRto = true;
    this.cwnd = this.minimumWindow;
    // The timeout ends a round, so the first segment sent after it and acknowledged restores the window.
    this.nextRoundDelivered = this.lastTotalDelivered;
    this.fullBandwidth = 0;
    this.fullBandwidthCount = 0;
  }

  pacingRate(srtt: number): number {
    if (Number.isNaN(this.pacing)) return (HIGH_GAIN * this.cwnd) / Math.max(srtt, 0.001);
    return this.pacing;
  }

  // ---------------------------------------------------------------------------------------------

  private bdp(gain: number): number {
    if (this.minRttValue === Number.POSITIVE_INFINITY || this.bandwidthValue === 0) return this.initialWindow;
    return gain * this.bandwidthValue * Math.max(this.minRttValue, RTT_FLOOR);
  }

  private savedWindow(): number {
    return this.stateValue === BbrState.PROBE_RTT ? Math.max(this.priorCwnd, this.cwnd) : this.cwnd;
  }

  private updateRound(sample: DeliveryRateSample): void {
    this.roundStart = false;
    if (sample.priorDelivered >= this.nextRoundDelivered) {
      this.nextRoundDelivered = sample.totalDelivered;
      this.roundCount++;
      this.roundStart = true;
      if (this.restoreAfterRto) {
        // A segment sent after the timeout came back: the path is alive, resume the model's window.
        this.restoreAfterRto = false;
        this.cwnd = Math.max(this.cwnd, this.priorCwnd);
      }
    }
  }

  private updateBandwidth(sample: DeliveryRateSample): void {
    // A sample over less than a min RTT comes from compressed ACKs and overstates the rate (draft §3.3).
    if (sample.interval <= 0 || sample.interval < this.minRttValue) return;
    const rate = sample.delivered / sample.interval;
    if (sample.appLimited && rate < this.bandwidthValue) return;
    const rounds = this.bandwidthRounds;
    const last = rounds[rounds.length - 1];
    if (last !== undefined && last.round === this.roundCount) {
      if (rate > last.bandwidth) last.bandwidth = rate;
    } else {
      rounds.push({ round: this.roundCount, bandwidth: rate });
    }
    while (rounds.length > 0 && rounds[0]!.round <= this.roundCount - this.bandwidthWindowRounds)
      rounds.shift();
    let max = 0;
    for (const entry of rounds) if (entry.bandwidth > max) max = entry.bandwidth;
    this.bandwidthValue = max;
  }

  /** How much more than the bandwidth estimate arrives in bursts of ACKs (Linux bbr_update_ack_aggregation). */
  private updateAckAggregation(sample: DeliveryRateSample, now: number): void {
    if (sample.newlyDelivered <= 0 || this.bandwidthValue === 0) return;
    if (this.roundStart) {
      this.extraAckedRounds++;
      if (this.extraAckedRounds >= EXTRA_ACKED_WINDOW_ROUNDS) {
        this.extraAckedRounds = 0;
        this.extraAckedPrevious = this.extraAckedCurrent;
        this.extraAckedCurrent = 0;
      }
    }
    let expected = Number.isNaN(this.ackEpochStart) ? 0 : this.bandwidthValue * (now - this.ackEpochStart);
    if (
      Number.isNaN(this.ackEpochStart) ||
      this.ackEpochAcked <= expected ||
      this.ackEpochAcked + sample.newlyDelivered >= EXTRA_ACKED_EPOCH_RESET
    ) {
      this.ackEpochAcked = 0;
      this.ackEpochStart = now;
      expected = 0;
    }
    this.ackEpochAcked += sample.newlyDelivered;
    const extra = Math.min(this.ackEpochAcked - expected, this.cwnd);
    if (extra > this.extraAckedCurrent) this.extraAckedCurrent = extra;
  }

  private aggregationAllowance(): number {
    if (!this.filledPipe) return 0;
    const extra = Math.max(this.extraAckedCurrent, this.extraAckedPrevious);
    return Math.min(extra, this.bandwidthValue * EXTRA_ACKED_MAX_MS);
  }

  private updateCyclePhase(sample: DeliveryRateSample, now: number): void {
    if (this.stateValue !== BbrState.PROBE_BW) return;
    const fullLength = now - this.cycleStamp > this.minRttValue;
    const priorInFlight = sample.inFlight + sample.newlyDelivered;
    let next: boolean;
    if (this.pacingGain > 1)
      next = fullLength && (this.lossInRound || priorInFlight >= this.bdp(this.pacingGain));
    else if (this.pacingGain < 1) next = fullLength || priorInFlight <= this.bdp(1);
    else next = fullLength;
    if (!next) return;
    // Cruising after a probe whose samples (they return a round trip after it, often after the
    // short drain phase) raised the estimate: probe again rather than cruise on.
    const grew = this.probeBase > 0 && this.bandwidthValue >= this.probeBase * this.reprobeGrowth;
    this.enterCyclePhase(
      this.cycleIndex >= 2 && grew ? 0 : (this.cycleIndex + 1) % PACING_GAIN_CYCLE.length,
      now,
    );
  }

  private enterCyclePhase(index: number, now: number): void {
    if (index === 0) this.probeBase = this.bandwidthValue;
    this.cycleIndex = index;
    this.cycleStamp = now;
    this.pacingGain = PACING_GAIN_CYCLE[index]!;
  }

  private checkFullPipe(sample: DeliveryRateSample): void {
    if (this.filledPipe || !this.roundStart || sample.appLimited) return;
    if (this.bandwidthValue >= this.fullBandwidth * FULL_BW_GROWTH) {
      this.fullBandwidth = this.bandwidthValue;
      this.fullBandwidthCount = 0;
      return;
    }
    if (++this.fullBandwidthCount >= FULL_BW_ROUNDS) this.filledPipe = true;
  }

  private checkDrain(sample: DeliveryRateSample, now: number): void {
    if (this.stateValue === BbrState.STARTUP && this.filledPipe) {
      this.stateValue = BbrState.DRAIN;
      this.pacingGain = DRAIN_GAIN;
      this.cwndGain = HIGH_GAIN;
    }
    if (this.stateValue === BbrState.DRAIN && sample.inFlight <= this.bdp(1)) this.enterProbeBw(now);
  }

  private enterProbeBw(now: number): void {
    this.stateValue = BbrState.PROBE_BW;
    this.cwndGain = CWND_GAIN;
    this.enterCyclePhase(0, now);
  }

  /** The min-RTT filter; true when its window expired (PROBE_RTT is due). */
  private updateMinRttFilter(sample: DeliveryRateSample, now: number): boolean {
    const expired = !Number.isNaN(this.minRttStamp) && now > this.minRttStamp + this.minRttWindow;
    if (sample.rtt !== undefined && sample.rtt >= 0 && (sample.rtt <= this.minRttValue || expired)) {
      this.minRttValue = Math.max(sample.rtt, 0.001);
      this.minRttStamp = now;
    }
    return expired;
  }

  private updateProbeRtt(sample: DeliveryRateSample, expired: boolean, now: number): void {
    if (expired && this.stateValue !== BbrState.PROBE_RTT && !this.restoreAfterRto) {
      this.priorCwnd = this.savedWindow();
      this.stateValue = BbrState.PROBE_RTT;
      this.pacingGain = 1;
      this.cwndGain = 1;
      this.probeRttDone = Number.NaN;
    }
    if (this.stateValue !== BbrState.PROBE_RTT) return;
    if (Number.isNaN(this.probeRttDone) && sample.inFlight <= this.minimumWindow) {
      this.probeRttDone = now + this.probeRttDuration;
      this.probeRttRoundDone = false;
      this.nextRoundDelivered = sample.totalDelivered;
    } else if (!Number.isNaN(this.probeRttDone)) {
      if (this.roundStart) this.probeRttRoundDone = true;
      if (this.probeRttRoundDone && now >= this.probeRttDone) {
        this.minRttStamp = now;
        this.cwnd = Math.max(this.cwnd, this.priorCwnd);
        if (this.filledPipe) this.enterProbeBw(now);
        else {
          this.stateValue = BbrState.STARTUP;
          this.pacingGain = HIGH_GAIN;
          this.cwndGain = HIGH_GAIN;
        }
      }
    }
  }

  private updatePacingRate(): void {
    if (this.bandwidthValue === 0) return;
    // Until the pipe is full, never pace below what the initial window over the first RTT allowed
    // (an application-limited start, 1-byte requests, must not leave a later bulk transfer crawling).
    if (Number.isNaN(this.pacing) && Number.isFinite(this.minRttValue))
      this.pacing = (HIGH_GAIN * this.initialWindow) / this.minRttValue;
    const rate = this.pacingGain * this.bandwidthValue;
    if (this.filledPipe || Number.isNaN(this.pacing) || rate > this.pacing) this.pacing = rate;
  }

  private updateWindow(sample: DeliveryRateSample): void {
    const acked = sample.newlyDelivered;
    if (acked > 0 && !this.restoreAfterRto) {
      // Three segments of slack absorb the delayed-ACK and pacer-burst quantisation (Linux: 3 TSO segments).
      const target = this.bdp(this.cwndGain) + this.aggregationAllowance() + 3 * this.mss;
      if (this.filledPipe) this.cwnd = Math.min(this.cwnd + acked, target);
      else if (this.cwnd < target || sample.totalDelivered < this.initialWindow) this.cwnd += acked;
    } else if (acked > 0) {
      // After an RTO, until a round trip proves the path alive: grow as slow start does.
      this.cwnd += acked;
    }
    this.cwnd = Math.min(Math.max(this.cwnd, this.minimumWindow), this.maxWindow);
    if (this.stateValue === BbrState.PROBE_RTT) this.cwnd = Math.min(this.cwnd, this.minimumWindow);
  }
}

export function createBbr(mss: number): CongestionController {
  return new Bbr(mss);
}
