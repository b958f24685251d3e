/**
 * Defaults of the transport, with the reason for each. Times are milliseconds, sizes bytes.
 * Reference values are in spec/reference-behaviour.md §6.1; where we differ, the comment says why.
 */

/** UDP payload we aim for on the wire: fits the IPv6 minimum MTU (1280) with IP/UDP headers to spare. */
export const DEFAULT_MAX_DATAGRAM_SIZE = 1200;
/**
 * Bytes a sealed tunnel frame adds around a stream payload: PILS magic 4 + sender node 4 + nonce 12
 * + packet header 34 + GCM tag 16. Plaintext PILT adds only 38, but one MSS must fit either codec.
 */
export const TUNNEL_OVERHEAD = 70;
/** 1200 − 70 = 1130 payload bytes per segment (the reference uses 4096, which fragments). */
export const DEFAULT_MSS: number = DEFAULT_MAX_DATAGRAM_SIZE - TUNNEL_OVERHEAD;

/**
 * Receive buffer in segments (≈9.3 MB, filled lazily: an idle connection holds none of it); the
 * window field advertises its free slots (reference: 512). A lossy long path holds SACKed data
 * above each hole until its retransmission arrives, two or three round trips when that is lost
 * too: 1024 segments capped a 50 ms path with 1 % loss near 10 MB/s, and at 5 % loss 4096 stalled
 * the sender every second or two near 17 MB/s (median 16.8 MB/s of five transfers; 24.8 with 8192).
 */
export const DEFAULT_RECEIVE_WINDOW_SEGMENTS = 8192;
/** Bytes an application may queue for sending (queued + unacknowledged), sized like the receive buffer. */
export const DEFAULT_SEND_BUFFER_BYTES: number = 8 * 1024 * 1024;

/** RFC 6298 / reference: initial RTO 1 s, floor 200 ms, cap 10 s, clock granularity 10 ms. */
export const INITIAL_RTO = 1000;
export const MIN_RTO = 200;
export const MAX_RTO = 10_000;
export const CLOCK_GRANULARITY = 10;
/** Consecutive RTOs with nothing heard from the peer before it is declared dead (reference: 8). */
export const MAX_RTO_RETRIES = 8;

/** SYN retransmission: 1 s doubling to 8 s, six retries (about 29 s), as the reference dials. */
export const SYN_INITIAL_RTO = 1000;
export const SYN_MAX_RTO = 8000;
export const SYN_MAX_RETRIES = 6;

/** Delayed ACK: every second segment or 40 ms (reference). */
export const DELAYED_ACK_SEGMENTS = 2;
export const DELAYED_ACK_TIMEOUT = 40;
/**
 * ACK decimation (as Google QUIC, with BBR): after this many in-order segments on a connection,
 * acknowledge every ACK_DECIMATION_SEGMENTS-th instead of every second, or after a quarter of the
 * min RTT. A bulk transfer then costs both sides a fifth of the ACKs (each is a datagram sealed,
 * sent, received and opened); out-of-order data is still acknowledged at once.
 */
export const ACK_DECIMATION_AFTER = 100;
export const ACK_DECIMATION_SEGMENTS = 10;
/** Nagle hold time when coalescing is on (reference). */
export const NAGLE_TIMEOUT = 40;

/** Zero-window probe: 500 ms doubling to 30 s (reference). */
export const PERSIST_INITIAL = 500;
export const PERSIST_MAX = 30_000;

/** Keepalive after 60 s without hearing the peer; 3 unanswered probes → RST (reference). */
export const KEEPALIVE_INTERVAL = 60_000;
export const KEEPALIVE_MAX_PROBES = 3;
/** Close a connection that moved no application data for 120 s (reference). 0 disables. */
export const IDLE_TIMEOUT = 120_000;
/** TIME_WAIT and reaping of half-closed connections (reference). */
export const TIME_WAIT = 10_000;

/** SYN admission (reference): token buckets per second, at most 4096 tracked sources. */
export const SYN_RATE_GLOBAL = 100;
export const SYN_RATE_PER_SOURCE = 10;
export const SYN_TRACKED_SOURCES = 4096;
/** Connection caps (reference: 1024 per port, 65536 in total) and listener accept queue (64). */
export const MAX_CONNECTIONS_PER_PORT = 1024;
export const MAX_CONNECTIONS_TOTAL = 65_536;
export const ACCEPT_BACKLOG = 64;

/** Ephemeral port range for dials and datagrams (spec §1). */
export const EPHEMERAL_PORT_MIN = 49_152;
export const EPHEMERAL_PORT_MAX = 65_535;

/** Datagrams waiting for the pacer beyond this are dropped, oldest first: they are unreliable anyway. */
export const DATAGRAM_QUEUE_LIMIT = 512;
