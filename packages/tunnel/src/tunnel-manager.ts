import type { NatMapping, ReflectorServer } from '@pilot/nat';
import type { TunnelCodec, UdpEndpoint, UdpTransport } from '@pilot/transport/node';
import type { Address, TunnelCapabilityName } from '@pilot/wire';
import type { PeerCapabilities } from './capabilities.js';
import { TunnelContext } from './context.js';
import { TunnelErrorCode, tunnelError } from './errors.js';
import { hasPath } from './peer.js';
import type { DualAddress, PeerInfo, TlsRelayOptions, TunnelManagerOptions } from './types.js';

/**
 * The tunnel layer of a daemon (spec §3, reference §4 and §7.3): a `TunnelCodec` for the
 * `UdpTransport` that seals packets in PILS under keys agreed by signed PILA exchanges, plus the
 * machinery that finds a path to a peer (registry endpoint, LAN addresses, beacon punch, birthday
 * probing, beacon relay) and keeps it (keepalives, following the authenticated sender, upgrading a
 * relayed tunnel to a direct one in place).
 *
 * This class only composes the parts (see `context.ts` and the file map in the package README):
 * sealing.ts (codec), key-exchange.ts + key-cache.ts, paths.ts, punching.ts, relay.ts, beacon.ts,
 * liveness.ts and setup.ts (ensureTunnel).
 */
export class TunnelManager implements TunnelCodec {
  readonly stats: Record<string, number>;
  private readonly ctx: TunnelContext;

  constructor(options: TunnelManagerOptions) {
    this.ctx = new TunnelContext(options);
    this.stats = this.ctx.stats;
  }

  // ---- lifecycle ----

  /** Starts the beacon client on the transport's socket, keepalives and the relay upgrade loop. */
  attach(transport: UdpTransport, nodeId: number): void {
    const ctx = this.ctx;
    if (ctx.closed) throw tunnelError(TunnelErrorCode.CLOSED, 'tunnel manager is closed');
    ctx.transport = transport;
    this.setNodeId(nodeId);
    ctx.liveness.start();
    if (ctx.mapping === undefined && ctx.reflectors !== undefined) void ctx.punching.classify();
  }

  /**
   * The two reflectors to classify our NAT against, when learned after construction (the daemon
   * learns the rendezvous' second reflector from the registry); classifies at once when attached
   * and the mapping is not known yet.
   */
  setReflectors(reflectors: readonly [ReflectorServer, ReflectorServer]): void {
    const ctx = this.ctx;
    ctx.reflectors = reflectors;
    if (ctx.transport !== undefined && ctx.mapping === undefined && !ctx.closed) void ctx.punching.classify();
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

  /** Our reflexive endpoint as the beacon sees the tunnel socket (also registers us with the beacon). */
  discover(): Promise<DualAddress | undefined> {
    return this.ctx.beacon.discover();
  }

  /** The relay over TLS: mode, whether relayed frames use it now, whether its link is up. */
  get tlsRelay(): { mode: string; active: boolean; up: boolean; queued_bytes: number; error: string } {
    return this.ctx.tlsPath.status();
  }

  /** Our reflexive endpoint from the last successful discover. */
  get endpoint(): DualAddress | undefined {
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

  /** Stops timers, punches, birthday sockets and the beacon client; the transport stays open. */
  async close(): Promise<void> {
    const ctx = this.ctx;
    if (ctx.closed) return;
    ctx.closed = true;
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
    ctx.transport?.removePeer({ network: 0, node: nodeId });
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

  // ---- TunnelCodec ----

  seal(packet: Uint8Array, to: Address): Uint8Array | undefined {
    return this.ctx.sealing.seal(packet, to);
  }

  /**
   * The transport's no-copy path (it lends a reused buffer): safe here because `seal` never keeps
   * the packet it is given (sealing writes a new frame; queueing and relaying copy).
   */
  sealTransient(packet: Uint8Array, to: Address): Uint8Array | undefined {
    return this.ctx.sealing.seal(packet, to);
  }

  open(frame: Uint8Array, from: UdpEndpoint): Uint8Array | undefined {
    return this.ctx.sealing.open(frame, from);
  }
}
