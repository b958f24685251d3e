/**
 * One delivery-rate sample (draft-cheng-iccrg-delivery-rate-estimation), produced for every ACK
 * that delivers data, from the newest segment it delivers. Sizes are bytes, times milliseconds.
 */
export interface DeliveryRateSample {
  /** Bytes delivered (cumulatively or by SACK) between that segment's send and this ACK. */
  readonly delivered: number;
  /** The longer of the send and the ACK intervals; 0 when the sample is unusable. */
  readonly interval: number;
  /** Bytes the connection had delivered when that segment was sent (round-trip counting). */
  readonly priorDelivered: number;
  /** Bytes the connection has delivered in all, this ACK included. */
  readonly totalDelivered: number;
  /** Bytes newly delivered by this ACK. */
  readonly newlyDelivered: number;
  /** RTT of that segment if it was sent once (Karn's rule), else undefined. */
  readonly rtt: number | undefined;
  /** The sender had nothing to fill its window when that segment left: the rate is only a lower bound. */
  readonly appLimited: boolean;
  /** Bytes in flight after this ACK. */
  readonly inFlight: number;
}

/**
 * What the connection asks of a congestion controller. Sizes are bytes, times milliseconds.
 * New-Reno, CUBIC (loss-based) and BBR (model-based, the default) implement it.
 */
export interface CongestionController {
  /** Bytes that may be in flight now. */
  readonly window: number;
  readonly slowStartThreshold: number;
  readonly inSlowStart: boolean;
  /** True while in a recovery period started by a loss. */
  inRecovery(sentTime: number): boolean;
  /** New data was acknowledged; `sentTime` is when the newest acknowledged segment was sent. */
  onAck(bytes: number, sentTime: number, now: number): void;
  /**
   * Called after `onAck` with the delivery-rate sample of the same ACK. Optional: loss-based
   * controllers ignore it; a model-based one (BBR) runs on it.
   */
  onDeliveryRateSample?(sample: DeliveryRateSample, now: number): void;
  /** A segment sent at `sentTime` was declared lost (once per loss event; repeats in the same period are ignored). */
  onCongestionEvent(sentTime: number, now: number): void;
  /** The retransmission timer fired: the path may have collapsed. */
  onRetransmissionTimeout(now: number): void;
  /** Pacing rate in bytes per millisecond for a given smoothed RTT. */
  pacingRate(srtt: number): number;
}

export type CongestionControllerFactory = (mss: number) => CongestionController;

/** RFC 9002 §7.2's initial window: min(10·MSS, max(14,720 bytes, 2·MSS)). Every controller starts here. */
export function defaultInitialWindow(mss: number): number {
  return Math.min(10 * mss, Math.max(14_720, 2 * mss));
}

/** The largest window any controller grows to unless told otherwise (16 MiB). */
export const DEFAULT_MAX_WINDOW: number = 16 * 1024 * 1024;
