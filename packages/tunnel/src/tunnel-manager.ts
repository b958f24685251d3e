import type { RemoteInfo, Socket } from 'node:dgram';
import type { NatMapping, ReflectorServer } from '@pilot/nat';
import { bindUdpSocket, type PacketLink, type PacketReceiver } from '@pilot/transport/node';
import type { TunnelCapabilityName, UdpAddress } from '@pilot/wire';
import type { PeerCapabilities } from './capabilities.js';
import { TunnelContext } from './context.js';
import { TunnelErrorCode, tunnelError } from './errors.js';
import { hasPath } from './peer.js';
import type { PeerInfo, TlsRelayOptions, TunnelManagerOptions } from './types.js';

/** Where the tunnel socket binds. */
export interface TunnelBindOptions {
  /** UDP address to bind (default 127.0.0.1; '0.0.0.0' for all). */
  readonly host?: string;
  /** UDP port (default 0: any). */
  readonly port?: number;
  /** SO_RCVBUF / SO_SNDBUF request (default 4 MiB). */
  readonly socketBufferSize?: number;
}

/**
 * The tunnel layer of a daemon (spec §3, reference §4 and §7.3), and the `PacketLink` its transport
 * runs over: it owns the UDP socket and the one node → path table, seals packets in PILS under keys
 * agreed by signed PILA exchanges, finds a path to a peer (registry endpoint, LAN addresses, beacon
 * punch, birthday probing, beacon relay) and keeps it (keepalives, following the authenticated
 * sender, upgrading a relayed tunnel to a direct one in place). The transport above only calls
 * `send`, `reaches` and `setReceiver`; nothing here calls up.
 *
 * This class only composes the parts (see `context.ts` and the source map in the package README):
 * sealing.ts (codec), key-exchange.ts + key-cache.ts, paths.ts, punching.ts, relay.ts, beacon.ts,
 * liveness.ts and setup.ts (ensureTunnel).
 */
export class TunnelManager implements PacketLink {
  readonly stats: Record<string, number>;
  private readonly ctx: TunnelContext;

  constructor(options: TunnelManagerOptions) {
    this.ctx = new TunnelContext(options);
    this.stats = this.ctx.stats;
  }

  // ---- lifecycle ----

  /** Binds the tunnel socket (one per daemon: tunnel frames, beacon messages, STUN share its NAT mapping). */
  async bind(options: TunnelBindOptions = {}): Promise<void> {
    const ctx = this.ctx;
    if (ctx.closed) throw tunnelError(TunnelErrorCode.CLOSED, 'tunnel manager is closed');
    if (ctx.socket !== undefined) throw tunnelError(TunnelErrorCode.CLOSED, 'tunnel socket already bound');
    const socket = await bindUdpSocket(options);
    if (ctx.closed) {
      await closeSocket(socket);
      throw tunnelError(TunnelErrorCode.CLOSED, 'tunnel manager is closed');
    }
    socket.on('message', (message: Buffer, remote: RemoteInfo) => {
      // A plain Uint8Array view of the datagram: Buffer#subarray (a JS FastBuffer per call) costs more.
      const frame = new Uint8Array(message.buffer, message.byteOffset, message.byteLength);
      // The datagram's RemoteInfo is a UdpAddress already: no copy per datagram (a path keeps a copy).
      const packet = ctx.sealing.open(frame, remote);
      if (packet !== undefined) ctx.deliver(packet);
    });
    socket.on('error', (error) => ctx.log('warn', 'UDP socket error', { error: error.message }));
    ctx.socket = socket;
  }

  /** Starts the beacon client on the tunnel socket, keepalives and the relay upgrade loop (after `bind`). */
  start(nodeId: number): void {
    const ctx = this.ctx;
    if (ctx.closed) throw tunnelError(TunnelErrorCode.CLOSED, 'tunnel manager is closed');
    if (ctx.socket === undefined) throw tunnelError(TunnelErrorCode.CLOSED, 'tunnel socket not bound');
    this.setNodeId(nodeId);
    ctx.liveness.start();
    if (ctx.mapping === undefined && ctx.reflectors !== undefined) void ctx.punching.classify();
  }

  /**
   * The two reflectors to classify our NAT against, when learned after construction (the daemon
   * learns the rendezvous' second reflector from the registry); classifies at once when started
   * and the mapping is not known yet.
   */
  setReflectors(reflectors: readonly [ReflectorServer, ReflectorServer]): void {
    const ctx = this.ctx;
    ctx.reflectors = reflectors;
    if (ctx.socket !== undefined && ctx.mapping === undefined && !ctx.closed) void ctx.punching.classify();
  }

  /**
   * The rendezvous' relay over TLS, when learned after construction (the daemon learns its port from
   * the registry's `wss_port`); used by `transportMode` as if it had been given as `tlsRelay`.
   */
  setTlsRelay(relay: TlsRelayOptions): void {
    this.ctx.tlsPath.setRelay(relay);
  }

  /** Our node ID (learned from the registry after binding): PILA, sealers and the beacon client follow. */
  setNodeId(nodeId: number): void {
    const ctx = this.ctx;
    ctx.nodeId = nodeId;
    ctx.keys.resetPila();
    for (const peer of ctx.peerTable.values()) peer.crypto?.setOurNode(nodeId);
    ctx.beacon.start();
    ctx.tlsPath.start();
  }

  /** The bound UDP endpoint of the tunnel socket. */
  get udpAddress(): UdpAddress {
    const socket = this.ctx.socket;
    if (socket === undefined) throw tunnelError(TunnelErrorCode.CLOSED, 'tunnel socket not bound');
    const { address, port } = socket.address();
    return { address, port };
  }

  /** The tunnel socket (tests watch it; frames on it are the manager's). */
  get socket(): Socket | undefined {
    return this.ctx.socket;
  }

  /** Our reflexive endpoint as the beacon sees the tunnel socket (also registers us with the beacon). */
  discover(): Promise<UdpAddress | undefined> {
    return this.ctx.beacon.discover();
  }

  /** The relay over TLS: mode, whether relayed frames use it now, whether its link is up. */
  get tlsRelay(): { mode: string; active: boolean; up: boolean; queued_bytes: number; error: string } {
    return this.ctx.tlsPath.status();
  }

  /** Our reflexive endpoint from the last successful discover. */
  get endpoint(): UdpAddress | undefined {
    return this.ctx.beacon.endpoint;
  }

  /**
   * Classifies our NAT's mapping from the tunnel socket against the two `reflectors` (it decides our
   * role in birthday probing); undefined without reflectors or when they do not answer.
   */
  classify(): Promise<NatMapping | undefined> {
    return this.ctx.punching.classify();
  }

  /** Our NAT's mapping ('easy' | 'hard') when known. */
  get natMapping(): NatMapping | undefined {
    return this.ctx.mapping;
  }

  /** Our X25519 public key (fresh at every start). */
  get tunnelPublicKey(): Uint8Array {
    return Uint8Array.from(this.ctx.x25519.publicKey);
  }

  /** Stops timers, punches, birthday sockets and the beacon client, and closes the tunnel socket. */
  async close(): Promise<void> {
    const ctx = this.ctx;
    if (ctx.closed) return;
    ctx.closed = true;
    ctx.receiver = undefined;
    ctx.reachableListener = undefined;
    ctx.liveness.stop();
    for (const timer of ctx.timers) clearTimeout(timer);
    ctx.timers.clear();
    ctx.punching.stopPunches();
    for (const abort of ctx.aborts) abort.abort();
    ctx.aborts.clear();
    ctx.beacon.close();
    ctx.tlsPath.close();
    for (const peer of ctx.peerTable.values()) {
      clearTimeout(peer.pilaReplyTimer);
      ctx.failWaiters(peer, tunnelError(TunnelErrorCode.CLOSED, 'tunnel manager closed'));
    }
    await ctx.punching.closeSockets();
    // Session keys and unpaired ephemeral private keys are zeroed.
    ctx.fs.resetAll();
    if (ctx.socket !== undefined) await closeSocket(ctx.socket);
  }

  // ---- queries ----

  peers(): PeerInfo[] {
    return [...this.ctx.peerTable.values()].filter(hasPath).map((peer) => this.ctx.info(peer));
  }

  /**
   * What we know of a peer's tunnel capabilities: `has(name)` is true when both ends advertise it
   * (a reference peer, or one not heard from yet, has none). See /work/notes/capabilities.md.
   */
  capabilities(nodeId: number): PeerCapabilities {
    return this.ctx.fs.capabilities(nodeId);
  }

  /** The capabilities we advertise to pilot-ts peers (and register with a registry that takes them). */
  get advertisedCapabilities(): readonly TunnelCapabilityName[] {
    return this.ctx.fs.advertised;
  }

  peer(nodeId: number): PeerInfo | undefined {
    const peer = this.ctx.peerTable.get(nodeId);
    return peer === undefined ? undefined : this.ctx.info(peer);
  }

  /**
   * Where a node is believed to be, learned some other way: its key exchange starts there when the
   * transport sends to it (packets wait for the keys). Ignored when the node has a path already.
   */
  addPeer(nodeId: number, endpoint: UdpAddress): void {
    const peer = this.ctx.peerOf(nodeId);
    if (!hasPath(peer)) peer.endpoint = { address: endpoint.address, port: endpoint.port };
  }

  /** Drops a peer's keys and path (untrust, revoke); the next packet to it starts a new exchange. */
  forget(nodeId: number): void {
    const ctx = this.ctx;
    const peer = ctx.peerTable.get(nodeId);
    if (peer === undefined) return;
    clearTimeout(peer.pilaReplyTimer);
    ctx.failWaiters(peer, tunnelError(TunnelErrorCode.UNREACHABLE, `node ${nodeId} was forgotten`));
    if (peer.side !== undefined) ctx.punching.releaseSide(peer.side);
    ctx.peerTable.delete(nodeId);
    ctx.fs.reset(nodeId);
    ctx.keyCache.delete(nodeId);
  }

  /** Resolves once authenticated keys exist with the node (direct or relayed). */
  ensureTunnel(nodeId: number, options: { timeoutMs?: number } = {}): Promise<PeerInfo> {
    return this.ctx.setup.ensureTunnel(nodeId, options);
  }

  /**
   * Probes UDP to the beacon with a short discover (3 s): in `auto` mode an unanswered one moves
   * the relay to TLS, an answered one back to UDP. True when it was answered.
   */
  probeUdp(): Promise<boolean> {
    return this.ctx.tlsPath.probe();
  }

  /** Sends keepalives now (tests, and the daemon after a network change). */
  keepaliveNow(): void {
    this.ctx.liveness.keepalive();
  }

  // ---- PacketLink ----

  /** Seals a packet (PILS, in place into a slab) and sends it by the node's path; nothing without a path. */
  send(packet: Uint8Array, node: number): void {
    this.ctx.sealing.send(packet, node);
  }

  /** Whether the node has a path (direct, birthday socket or relay). */
  reaches(node: number): boolean {
    const peer = this.ctx.peerTable.get(node);
    return peer !== undefined && hasPath(peer);
  }

  setReceiver(receiver: PacketReceiver | undefined): void {
    this.ctx.receiver = receiver;
  }

  setReachableListener(listener: ((node: number) => void) | undefined): void {
    this.ctx.reachableListener = listener;
  }

  /**
   * Opens one datagram as if it came from `from` on the tunnel socket: the packet inside, if any
   * (it is not handed to the receiver). For hostile-input tests; the socket's datagrams take this path.
   */
  open(frame: Uint8Array, from: UdpAddress): Uint8Array | undefined {
    return this.ctx.sealing.open(frame, from);
  }
}

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve();
    }
  });
}
