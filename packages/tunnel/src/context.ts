import type { Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { ContextBudget, generateX25519KeyPair, type X25519KeyPair } from '@pilot/crypto';
import type { NatMapping, ReflectorServer } from '@pilot/nat';
import type { PacketReceiver } from '@pilot/transport/node';
import { formatUdpAddress, type UdpAddress } from '@pilot/wire';
import { BeaconLink } from './beacon.js';
import { ForwardSecrecy } from './forward-secrecy.js';
import { KeyCache } from './key-cache.js';
import { KeyExchange } from './key-exchange.js';
import { Liveness } from './liveness.js';
import { Paths } from './paths.js';
import { createPeer, hasPath, type Peer } from './peer.js';
import { Punching } from './punching.js';
import { Relay } from './relay.js';
import { Sealing } from './sealing.js';
import { TunnelSetup } from './setup.js';
import { TlsPath } from './tls-path.js';
import type {
  PeerInfo,
  TunnelDirectory,
  TunnelEvent,
  TunnelLogLevel,
  TunnelManagerOptions,
} from './types.js';

/**
 * What the parts of the tunnel share: the options, the node → path table (`peerTable`), our node and
 * X25519 key, the UDP socket and the receiver of opened packets (the transport), the timers to clear
 * at close, counters, events and logging, and the parts themselves (each part reaches the others
 * through here).
 */
/**
 * Tunnel keys whose AES-GCM contexts (about 1 KB of OpenSSL state per direction) stay alive at once;
 * the least recently used beyond it are freed and rebuilt on their next frame (~5 µs). An idle
 * tunnel then costs its key bytes only: 10 000 peers of which a few hundred are busy fit in a few MB.
 */
export const LIVE_CIPHER_KEYS = 512;

export class TunnelContext {
  readonly stats: Record<string, number> = {};
  readonly options: TunnelManagerOptions;
  readonly directory: TunnelDirectory;
  readonly encrypt: boolean;
  readonly keepaliveMs: number;
  readonly directTimeoutMs: number;
  readonly directRetryMs: number;
  readonly x25519: X25519KeyPair;
  readonly peerTable: Map<number, Peer> = new Map();
  /** Shared by every peer's sealer and openers (see LIVE_CIPHER_KEYS). */
  readonly contexts: ContextBudget = new ContextBudget(LIVE_CIPHER_KEYS);
  /** One-shot timers and birthday aborts of any part, cleared at close. */
  readonly timers: Set<NodeJS.Timeout> = new Set();
  readonly aborts: Set<AbortController> = new Set();
  /** The tunnel socket (bound by `TunnelManager.bind`): tunnel frames, beacon messages, STUN. */
  socket: Socket | undefined;
  /** Where opened packets go (the transport, through `PacketLink.setReceiver`). */
  receiver: PacketReceiver | undefined;
  /** Told when a peer we had lost reads us again (the transport, `PacketLink.setReachableListener`). */
  reachableListener: ((node: number) => void) | undefined;
  nodeId = 0;
  mapping: NatMapping | undefined;
  /** The two reflectors our NAT is classified against (the options', or set later: the registry's). */
  reflectors: readonly [ReflectorServer, ReflectorServer] | undefined;
  closed = false;

  readonly keyCache: KeyCache;
  readonly keys: KeyExchange;
  /** Capabilities and forward-secret sessions between pilot-ts peers. */
  readonly fs: ForwardSecrecy;
  readonly sealing: Sealing;
  readonly paths: Paths;
  readonly relay: Relay;
  readonly beacon: BeaconLink;
  readonly punching: Punching;
  readonly liveness: Liveness;
  readonly setup: TunnelSetup;
  readonly tlsPath: TlsPath;

  constructor(options: TunnelManagerOptions) {
    this.options = options;
    this.directory = options.directory;
    this.encrypt = options.encrypt ?? true;
    this.keepaliveMs = options.keepaliveMs ?? 20_000;
    this.directTimeoutMs = options.directTimeoutMs ?? 6000;
    this.directRetryMs = options.directRetryMs ?? 20_000;
    this.mapping = options.natMapping;
    this.reflectors = options.reflectors;
    this.x25519 = options.x25519 ?? generateX25519KeyPair();
    this.keyCache = new KeyCache(this.directory, (level, message, fields) =>
      this.log(level, message, fields),
    );
    this.keys = new KeyExchange(this);
    this.fs = new ForwardSecrecy(this);
    this.sealing = new Sealing(this);
    this.paths = new Paths(this);
    this.relay = new Relay(this);
    this.beacon = new BeaconLink(this);
    this.punching = new Punching(this);
    this.liveness = new Liveness(this);
    this.setup = new TunnelSetup(this);
    this.tlsPath = new TlsPath(this);
  }

  // ---- the node → path table ----

  peerOf(nodeId: number): Peer {
    let peer = this.peerTable.get(nodeId);
    if (peer === undefined) {
      peer = createPeer(nodeId);
      this.peerTable.set(nodeId, peer);
    }
    return peer;
  }

  ready(peer: Peer): boolean {
    if (!hasPath(peer)) return false;
    return !this.encrypt || (peer.crypto !== undefined && peer.authenticated);
  }

  settle(peer: Peer): void {
    const waiters = peer.waiters;
    if (waiters === undefined || !this.ready(peer)) return;
    peer.waiters = undefined;
    const info = this.info(peer);
    for (const waiter of waiters) waiter.resolve(info);
  }

  failWaiters(peer: Peer, error: Error): void {
    const waiters = peer.waiters ?? [];
    peer.waiters = undefined;
    for (const waiter of waiters) waiter.reject(error);
  }

  info(peer: Peer): PeerInfo {
    const beacon = this.beacon.address;
    const overTls = peer.relay && this.tlsPath.active;
    const tlsRelay = this.tlsPath.relay;
    const endpoint =
      overTls && tlsRelay !== undefined
        ? `tls://${tlsRelay.host.includes(':') ? `[${tlsRelay.host}]` : tlsRelay.host}:${tlsRelay.port}`
        : peer.relay && beacon !== undefined
          ? formatUdpAddress(beacon)
          : peer.endpoint !== undefined
            ? formatUdpAddress(peer.endpoint)
            : '';
    return {
      node_id: peer.nodeId,
      endpoint,
      encrypted: this.encrypt && peer.crypto !== undefined,
      authenticated: peer.authenticated,
      relay: peer.relay,
      path: overTls ? 'relay-tls' : peer.relay ? 'relay' : 'direct',
      ...(peer.setupMs === undefined ? {} : { setup_ms: Math.round(peer.setupMs * 10) / 10 }),
      last_seen_ms: Number.isFinite(peer.lastSeenAt) ? Math.round(performance.now() - peer.lastSeenAt) : -1,
      bytes_sent: peer.bytesSent,
      bytes_recv: peer.bytesRecv,
      capabilities: [...this.fs.capabilities(peer.nodeId).names],
      forward_secret: this.fs.describe(peer.nodeId).forwardSecret,
    };
  }

  // ---- the socket ----

  /** Sends a frame from the tunnel socket. */
  sendRawTo(frame: Uint8Array, to: UdpAddress): void {
    if (this.closed || this.socket === undefined) return;
    try {
      this.socket.send(frame, to.port, to.address);
    } catch (error) {
      this.log('debug', 'send failed', { to: formatUdpAddress(to), error: String(error) });
    }
  }

  /**
   * Hands an opened packet up (the transport's receiver), saying whether an AEAD authenticated it.
   * With encryption on, every packet that reaches here came out of a PILS frame opened by the key
   * of the node its header names (`Sealing.openSealed` checks the source; PILT is refused), so it
   * is; with encryption off nothing is (PILT only: no keys are ever agreed).
   */
  deliver(packet: Uint8Array): void {
    if (!this.closed) this.receiver?.(packet, this.encrypt);
  }

  /**
   * `peer`, whose path was lost or whose keys changed, reads what we seal now (its first sealed
   * frame since, or with the spec's static key our PILA it needed went just before): the transport
   * may resend what waits for its answer (SYNs) at once.
   */
  proved(peer: Peer): void {
    peer.proofAwaited = false;
    this.count('reachable_again');
    if (!this.closed) this.reachableListener?.(peer.nodeId);
  }

  // ---- counters, events, logging ----

  count(name: string, by = 1): void {
    this.stats[name] = (this.stats[name] ?? 0) + by;
  }

  drop(reason: string): void {
    this.count(`drop_${reason}`);
    this.count('dropped');
  }

  emit(event: TunnelEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch (error) {
      this.log('warn', 'tunnel event listener threw', { error: String(error) });
    }
  }

  log(level: TunnelLogLevel, message: string, fields?: Record<string, unknown>): void {
    this.options.log?.(level, message, fields);
  }
}
