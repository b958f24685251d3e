/**
 * What the connection asks of a congestion controller. Sizes are bytes, times milliseconds.
 * New-Reno is the one shipped; CUBIC or BBR can implement the same shape.
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
  /** A segment sent at `sentTime` was declared lost (once per loss event; repeats in the same period are ignored). */
  onCongestionEvent(sentTime: number, now: number): void;
  /** The retransmission timer fired: the path may have collapsed. */
  onRetransmissionTimeout(now: number): void;
  /** Pacing rate in bytes per millisecond for a given smoothed RTT. */
  pacingRate(srtt: number): number;
}

export type CongestionControllerFactory = (mss: number) => CongestionController;
