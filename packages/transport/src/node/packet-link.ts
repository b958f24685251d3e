/**
 * What the transport runs over: packets to and from nodes. The layer below owns everything about
 * how a packet reaches a node — the socket, the node → path table, framing and keys: a plain
 * `UdpLink` (tests, benchmarks, fixed deployments) or the daemon's tunnel (`@pilot/tunnel`).
 * The transport only calls down: it never learns paths, sockets or tunnels.
 */
export interface PacketLink {
  /**
   * Sends an encoded packet to a node, or drops it when the node has no path. The packet is only
   * valid during the call (the transport encodes every packet into one reused buffer): a link that
   * keeps it for later (queued until a key exists) copies it.
   */
  send(packet: Uint8Array, node: number): void;
  /** Whether a packet to the node can be sent now (connect fails with NO_ROUTE otherwise). */
  reaches(node: number): boolean;
  /**
   * Where received packets go (one receiver at a time; undefined detaches). A packet handed over
   * is the receiver's: the link does not read or reuse its bytes afterwards.
   */
  setReceiver(receiver: PacketReceiver | undefined): void;
  /**
   * Optional: where the link says that a node it had lost (a silent path, keys the peer no longer
   * held) is reachable again, proved by the peer (undefined detaches). The transport then resends
   * the SYNs still waiting for that node's answer at once rather than at their backed-off retry.
   */
  setReachableListener?(listener: ((node: number) => void) | undefined): void;
}

/**
 * Takes one packet received from some node (its header names the node). `authenticated` is true
 * only when the link opened it from an AEAD frame under the key of the node its header names (the
 * tunnel's PILS): the bytes are that node's, unaltered, so the transport may skip the packet CRC
 * for a node it agreed that with (`UdpTransport.setChecksumFree`). A link that cannot vouch passes
 * nothing (every packet is CRC-checked).
 */
export type PacketReceiver = (packet: Uint8Array, authenticated?: boolean) => void;
