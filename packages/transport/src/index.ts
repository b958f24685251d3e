export { Bbr, type BbrOptions, BbrState, createBbr } from './congestion/bbr.js';
export type {
  CongestionController,
  CongestionControllerFactory,
  DeliveryRateSample,
} from './congestion/congestion-controller.js';
export { Cubic, type CubicOptions, createCubic } from './congestion/cubic.js';
export { createNewReno, NewReno, type NewRenoOptions } from './congestion/new-reno.js';
export { Pacer } from './congestion/pacer.js';
export {
  ACCEPT_BACKLOG,
  DEFAULT_MAX_DATAGRAM_SIZE,
  DEFAULT_MSS,
  DEFAULT_RECEIVE_WINDOW_SEGMENTS,
  DEFAULT_SEND_BUFFER_BYTES,
  DELAYED_ACK_TIMEOUT,
  IDLE_TIMEOUT,
  INITIAL_RTO,
  KEEPALIVE_INTERVAL,
  MAX_RTO,
  MIN_RTO,
  TIME_WAIT,
  TUNNEL_OVERHEAD,
} from './constants.js';
export { Connection, type ConnectionHost, type ConnectionIdentity } from './core/connection.js';
export { ConnectionState, connectionStateName } from './core/connection-state.js';
export { createCounters, type TransportCounters } from './core/counters.js';
export { DatagramWindow } from './core/datagram-window.js';
export {
  addressKey,
  Endpoint,
  type ListenOptions,
  type Transmit,
  type TransmitSink,
} from './core/endpoint.js';
export type { Datagram, TransportEvent } from './core/events.js';
export { type EndpointOptions, type ResolvedOptions, resolveOptions } from './core/options.js';
export { SynLimiter, type SynLimiterOptions } from './core/syn-limiter.js';
export { TokenBucket } from './core/token-bucket.js';
export { TransportErrorCode, transportError } from './errors.js';
export {
  MAX_PROBES,
  type PathMtuOptions,
  PathMtuProber,
  type PathMtuState,
  type PathMtuStats,
  PROBE_TIMEOUT,
  RAISE_INTERVAL,
  SEARCH_GRANULARITY,
} from './path/path-mtu.js';
export { InsertResult, ReassemblyBuffer } from './receive/reassembly-buffer.js';
export { RttEstimator, type RttEstimatorOptions } from './recovery/rtt-estimator.js';
export { type AckResult, type LossResult, SentPacketTracker } from './recovery/sent-packet-tracker.js';
export { type SentSegment, segmentLength } from './recovery/sent-segment.js';
export { SendBuffer } from './send/send-buffer.js';
export type { Address, Packet, SackBlock } from './wire.js';
