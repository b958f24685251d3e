/**
 * What an endpoint dropped or did, for operators and tests. Hostile or broken input is dropped
 * and counted here; nothing in the transport throws on bad input.
 */
export interface TransportCounters {
  packetsReceived: number;
  packetsSent: number;
  /** Packet CRC mismatch. */
  badChecksum: number;
  /** Truncated, wrong version, or otherwise undecodable packets. */
  malformed: number;
  /** Packets addressed to another node. */
  wrongDestination: number;
  /** Data or FIN with a sequence number far outside anything the window allowed. */
  badSequence: number;
  /** ACKs for bytes never sent. */
  ackBeyondSent: number;
  /** SACK blocks that are inverted or point past what was sent. */
  badSack: number;
  /** SYNs dropped by the rate limiter. */
  synRateLimited: number;
  /** SYNs and datagrams dropped silently by the admission gate (an untrusted source). */
  notAdmitted: number;
  /** SYNs refused with RST: no listener, port or total limit, full accept queue. */
  synRefused: number;
  /** SYNs refused (RST) because the source node has maxConnectionsPerSource on that port already. */
  synPerSourceRefused: number;
  /** Half-open connections reaped without the final ACK. */
  halfOpenReaped: number;
  /** Stream packets for no connection (answered with RST unless they were RSTs). */
  unknownConnection: number;
  /** Data dropped because the receive buffer was full (it will be retransmitted). */
  receiveBufferFull: number;
  /** Out-of-order data dropped because its peer's connections held maxReceiveBytesPerPeer already. */
  peerReceiveBudgetFull: number;
  /** Segments retransmitted, and how the losses were found. */
  retransmits: number;
  fastRetransmits: number;
  rtoTimeouts: number;
  tailLossProbes: number;
  lossesDetected: number;
  datagramsSent: number;
  datagramsReceived: number;
  /** Datagrams seen twice (same sender counter) and not delivered again. */
  duplicateDatagrams: number;
  /** Datagrams dropped before sending because the queue was full. */
  datagramQueueDrops: number;
  /** Path MTU probes sent (padded pings; see probePathMtu). */
  pathProbesSent: number;
  /** Packets sent with the checksum field zero, to peers that agreed to it (setChecksumFree). */
  checksumsOmitted: number;
  /** Packets taken without a CRC check: authenticated by the link, from such a peer. */
  checksumsSkipped: number;
}

export function createCounters(): TransportCounters {
  return {
    packetsReceived: 0,
    packetsSent: 0,
    badChecksum: 0,
    notAdmitted: 0,
    malformed: 0,
    wrongDestination: 0,
    badSequence: 0,
    ackBeyondSent: 0,
    badSack: 0,
    synRateLimited: 0,
    synRefused: 0,
    synPerSourceRefused: 0,
    halfOpenReaped: 0,
    unknownConnection: 0,
    receiveBufferFull: 0,
    peerReceiveBudgetFull: 0,
    retransmits: 0,
    fastRetransmits: 0,
    rtoTimeouts: 0,
    tailLossProbes: 0,
    lossesDetected: 0,
    datagramsSent: 0,
    datagramsReceived: 0,
    duplicateDatagrams: 0,
    datagramQueueDrops: 0,
    pathProbesSent: 0,
    checksumsOmitted: 0,
    checksumsSkipped: 0,
  };
}
