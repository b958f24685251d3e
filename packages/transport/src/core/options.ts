import { createBbr } from '../congestion/bbr.js';
import type { CongestionControllerFactory } from '../congestion/congestion-controller.js';
import { PACING_CATCH_UP_MS } from '../congestion/pacer.js';
import {
  ACCEPT_BACKLOG,
  DEFAULT_MAX_DATAGRAM_SIZE,
  DEFAULT_RECEIVE_WINDOW_SEGMENTS,
  DEFAULT_SEND_BUFFER_BYTES,
  DELAYED_ACK_TIMEOUT,
  IDLE_TIMEOUT,
  KEEPALIVE_INTERVAL,
  KEEPALIVE_MAX_PROBES,
  MAX_CONNECTIONS_PER_PORT,
  MAX_CONNECTIONS_TOTAL,
  MAX_RTO_RETRIES,
  TIME_WAIT,
  TUNNEL_OVERHEAD,
} from '../constants.js';
import { TransportErrorCode, transportError } from '../errors.js';
import type { Address } from '../wire.js';

/** Options of an endpoint; every field has a default (see constants.ts for the reasons). */
export interface EndpointOptions {
  /** This node's address; packets to another node ID are dropped. */
  readonly localAddress: Address;
  /** Largest UDP payload to produce, tunnel framing included (default 1200). */
  readonly maxDatagramSize?: number;
  /** Receive buffer per connection, in segments (default 1024). */
  readonly receiveWindowSegments?: number;
  /** Send buffer per connection, in bytes (default 1 MiB). */
  readonly sendBufferBytes?: number;
  /** Coalesce small writes while data is unacknowledged (default off: the driver coalesces per tick). */
  readonly nagle?: boolean;
  readonly keepaliveInterval?: number;
  readonly keepaliveProbes?: number;
  /** Close connections that moved no application data for this long; 0 disables (default 120 s). */
  readonly idleTimeout?: number;
  readonly timeWait?: number;
  readonly maxRtoRetries?: number;
  readonly delayedAckTimeout?: number;
  /** ACK every 10th segment, not every 2nd, once 100 arrived in order (default true): see constants. */
  readonly ackDecimation?: boolean;
  readonly congestionController?: CongestionControllerFactory;
  /** Segments the pacer may send back to back (default 10). */
  readonly pacingBurst?: number;
  /**
   * Milliseconds of lateness a driver woken after the pacer's wait may make up at once (default 8;
   * 0: none, the burst allowance caps every wake-up). See `Pacer`.
   */
  readonly pacingCatchUpMs?: number;
  readonly maxConnectionsPerPort?: number;
  readonly maxConnections?: number;
  readonly acceptBacklog?: number;
  readonly synRateGlobal?: number;
  readonly synRatePerSource?: number;
  /**
   * Bytes the receive buffers of one peer node's connections may hold together (a per-peer memory
   * budget). Over it, that peer's out-of-order segments are dropped (and retransmitted later); the
   * segment that fills a gap is always taken, so no connection can be stuck. Default: no limit.
   */
  readonly maxReceiveBytesPerPeer?: number;
  /**
   * Whether a SYN or a datagram from `source` to local `port` may come in. A refusal is a silent
   * drop (no RST), so that a private node does not reveal that it exists (reference §5.1). It runs
   * before every other gate. Default: everything is admitted.
   */
  readonly admit?: (source: Address, port: number, kind: 'stream' | 'datagram') => boolean;
  /** Source of random 32-bit integers (ISNs, ephemeral ports, datagram counters); seed it in tests. */
  readonly random?: () => number;
}

/** EndpointOptions with every default filled in. */
export interface ResolvedOptions {
  readonly localAddress: Address;
  readonly mss: number;
  readonly receiveWindowSegments: number;
  readonly sendBufferBytes: number;
  readonly nagle: boolean;
  readonly keepaliveInterval: number;
  readonly keepaliveProbes: number;
  readonly idleTimeout: number;
  readonly timeWait: number;
  readonly maxRtoRetries: number;
  readonly delayedAckTimeout: number;
  readonly ackDecimation: boolean;
  readonly congestionController: CongestionControllerFactory;
  readonly pacingBurst: number;
  readonly pacingCatchUpMs: number;
  readonly maxConnectionsPerPort: number;
  readonly maxConnections: number;
  readonly acceptBacklog: number;
  readonly synRateGlobal: number | undefined;
  readonly synRatePerSource: number | undefined;
  readonly maxReceiveBytesPerPeer: number;
  readonly random: () => number;
}

function defaultRandom(): number {
  return Math.floor(Math.random() * 0x1_0000_0000) >>> 0;
}

export function resolveOptions(options: EndpointOptions): ResolvedOptions {
  const maxDatagramSize = options.maxDatagramSize ?? DEFAULT_MAX_DATAGRAM_SIZE;
  const mss = maxDatagramSize - TUNNEL_OVERHEAD;
  if (!Number.isInteger(maxDatagramSize) || mss < 64 || mss > 65_535) {
    throw transportError(
      TransportErrorCode.BAD_ARGUMENT,
      `maxDatagramSize must be an integer in [${64 + TUNNEL_OVERHEAD}, ${65_535 + TUNNEL_OVERHEAD}]`,
    );
  }
  const receiveWindowSegments = options.receiveWindowSegments ?? DEFAULT_RECEIVE_WINDOW_SEGMENTS;
  if (
    !Number.isInteger(receiveWindowSegments) ||
    receiveWindowSegments < 2 ||
    receiveWindowSegments > 65_535
  ) {
    throw transportError(
      TransportErrorCode.BAD_ARGUMENT,
      'receiveWindowSegments must be an integer in [2, 65535]',
    );
  }
  return {
    localAddress: options.localAddress,
    mss,
    receiveWindowSegments,
    sendBufferBytes: options.sendBufferBytes ?? DEFAULT_SEND_BUFFER_BYTES,
    nagle: options.nagle ?? false,
    keepaliveInterval: options.keepaliveInterval ?? KEEPALIVE_INTERVAL,
    keepaliveProbes: options.keepaliveProbes ?? KEEPALIVE_MAX_PROBES,
    idleTimeout: options.idleTimeout ?? IDLE_TIMEOUT,
    timeWait: options.timeWait ?? TIME_WAIT,
    maxRtoRetries: options.maxRtoRetries ?? MAX_RTO_RETRIES,
    delayedAckTimeout: options.delayedAckTimeout ?? DELAYED_ACK_TIMEOUT,
    ackDecimation: options.ackDecimation ?? true,
    congestionController: options.congestionController ?? createBbr,
    pacingBurst: options.pacingBurst ?? 10,
    pacingCatchUpMs: options.pacingCatchUpMs ?? PACING_CATCH_UP_MS,
    maxConnectionsPerPort: options.maxConnectionsPerPort ?? MAX_CONNECTIONS_PER_PORT,
    maxConnections: options.maxConnections ?? MAX_CONNECTIONS_TOTAL,
    acceptBacklog: options.acceptBacklog ?? ACCEPT_BACKLOG,
    synRateGlobal: options.synRateGlobal,
    synRatePerSource: options.synRatePerSource,
    maxReceiveBytesPerPeer: options.maxReceiveBytesPerPeer ?? Number.POSITIVE_INFINITY,
    random: options.random ?? defaultRandom,
  };
}
