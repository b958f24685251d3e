/** One stream segment (or the FIN sentinel) that was sent and is not yet cumulatively acknowledged. */
export interface SentSegment {
  seq: number;
  /** Payload bytes; empty for the FIN, which occupies one sequence number. */
  data: Uint8Array;
  readonly fin: boolean;
  /** Time of the latest transmission. */
  sentAt: number;
  /** Order of the latest transmission, to compare segments sent within the same millisecond. */
  order: number;
  transmissions: number;
  /** The latest transmission repaired a segment declared lost by loss detection (not a probe, not an RTO). */
  repaired: boolean;
  /** Declared lost by a retransmission timeout (markAllLost), not by loss detection. */
  lostByTimeout: boolean;
  sacked: boolean;
  /** Declared lost and waiting to be retransmitted (not counted in flight). */
  lost: boolean;
  // The connection's delivery state at the latest transmission (delivery-rate estimation):
  /** Bytes delivered so far. */
  delivered: number;
  /** When the latest of those was delivered. */
  deliveredTime: number;
  /** Send time of the newest segment delivered by then (start of the send interval). */
  firstSentTime: number;
  /** Sent while the application left the window unfilled. */
  appLimited: boolean;
  // The tracker's send-order list of segments in flight neither SACKed nor lost (RACK walks it):
  /** True while on that list. */
  listed: boolean;
  previousSent: SentSegment | undefined;
  nextSent: SentSegment | undefined;
}

/** Sequence space a segment occupies: its bytes, or 1 for the FIN. */
export function segmentLength(segment: SentSegment): number {
  return segment.fin ? 1 : segment.data.length;
}
