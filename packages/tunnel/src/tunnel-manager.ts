import type { RemoteInfo, Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import {
  CryptoErrorCode,
  createAuthKeyExchange,
  generateX25519KeyPair,
  SEALED_FRAME_OVERHEAD,
  type VerifiedAuthKeyExchange,
  verifyAuthKeyExchange,
  type X25519KeyPair,
} from '@pilot/crypto';
import {
  BeaconClient,
  birthdayProbeEasy,
  birthdayPunchHard,
  classifyNat,
  formatUdpAddress,
  type NatMapping,
  normalizeIp,
  PUNCH_FRAME,
  sameUdpAddress,
  type UdpAddress,
} from '@pilot/nat';
import { FrameSlab, type TunnelCodec, type UdpEndpoint, type UdpTransport } from '@pilot/transport/node';
import {
  type Address,
  AUTH_KEY_EXCHANGE_SIZE,
  decodeBeaconMessage,
  encodeBeaconMessage,
  isPilotError,
  TunnelMagic,
} from '@pilot/wire';
import { TunnelErrorCode, tunnelError } from './errors.js';
import { lanCandidates } from './lan.js';
import { PeerCrypto } from './peer-crypto.js';
import type {
  DualAddress,
  PeerInfo,
  TunnelAddress,
  TunnelDirectory,
  TunnelEvent,
  TunnelManagerOptions,
} from './types.js';

/** Packets held per peer until its keys exist (the oldest is dropped), and peers that may hold some. */
const QUEUE_LIMIT = 64;
const QUEUED_PEERS_LIMIT = 256;
/** Reference §14: reply PILAs at most once a second per peer, and ignore a duplicate within 250 ms. */
const PILA_REPLY_INTERVAL_MS = 1000;
const PILA_DEBOUNCE_MS = 250;
/** How often ensureTunnel re-sends its PILA to the candidate endpoints while waiting. */
const ENSURE_RESEND_MS = 400;
/** While ensureTunnel waits for a direct path, the punch request is repeated this often. */
const PUNCH_REPEAT_MS = 2000;
/** Punch frames (and our PILA) sent towards a punch command's endpoint, and for how long. */
const PUNCH_INTERVAL_MS = 150;
/** A direct punch that has produced nothing by then starts birthday probing (when our mapping is known). */
const BIRTHDAY_AFTER_MS = 600;
/** Consecutive PILS failures from a keyed peer before we ask for its PILA again (with a PILK). */
const KEY_REQUEST_AFTER_FAILURES = 3;
/** Registry keys are cached this long (the manager re-fetches once on a mismatch anyway). */
const KEY_CACHE_MS = 5 * 60_000;
const NEGATIVE_KEY_CACHE_MS = 10_000;
const KEY_CACHE_LIMIT = 4096;
const KEY_REQUEST_TABLE_LIMIT = 1024;
/** A relayed frame does not take a peer off its direct path if that path was heard from this recently. */
const DIRECT_FRESH_MS = 3000;
/**
 * PILAs sent in answer to frames from unverified sources (a PILK, a PILS we cannot open) are larger
 * than what caused them, so they are capped overall as well as per node: at most this many a second.
 */
const UNSOLICITED_PILA_PER_SECOND = 50;
/** How often paths are checked for silence. */
const LIVENESS_CHECK_MS = 1000;
/** A peer we keep sending to that has said nothing authenticated for this long has lost its path. */
const SILENT_WHILE_SENDING_MS = 3000;
/** How long a silent path's PILK probe waits for the peer's PILA before punching again. */
const PROBE_WAIT_MS = 1000;
/** Recoveries of one silent path before we stop trying (the peer is probably gone). */
const MAX_RECOVERIES = 3;
/** The header's source node (bytes 6..10) of a packet. */
const PACKET_SRC_NODE = 6;
const PACKET_MIN = 34;

type Via = { readonly kind: 'direct'; readonly from: UdpAddress } | { readonly kind: 'relay' } | SideVia;
interface SideVia {
  readonly kind: 'side';
  readonly from: UdpAddress;
  readonly socket: Socket;
}

interface Waiter {
  readonly resolve: (info: PeerInfo) => void;
  readonly reject: (error: Error) => void;
}

interface Peer {
  readonly nodeId: number;
  endpoint: UdpAddress | undefined;
  /** The birthday socket this peer is reached through (hard side of birthday probing), if any. */
  side: Socket | undefined;
  relay: boolean;
  crypto: PeerCrypto | undefined;
  authenticated: boolean;
  queue: Uint8Array[];
  lastPilaSentAt: number;
  pilaReplyTimer: NodeJS.Timeout | undefined;
  lastPilaFrame: Uint8Array | undefined;
  lastPilaAt: number;
  lastSeenAt: number;
  lastDirectAt: number;
  lastSentAt: number;
  lastReplayEventAt: number;
  /** When the current recovery of a silent path started, and how many there were since the last frame. */
  recoveringSince: number | undefined;
  recoveries: number;
  setupStart: number | undefined;
  setupMs: number | undefined;
  bytesSent: number;
  bytesRecv: number;
  badKey: boolean;
  waiters: Waiter[];
}

interface PunchAttempt {
  readonly target: UdpAddress;
  readonly started: number;
  readonly timer: NodeJS.Timeout;
  readonly stopAt: number;
  birthday: boolean;
  done: boolean;
  /** Stops the attempt's birthday probing once another path authenticated. */
  abort: AbortController | undefined;
}

const bytesEqual = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((value, i) => value === b[i]);

const readU32 = (bytes: Uint8Array, at: number): number =>
  ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;

const toEndpoint = (address: UdpAddress): UdpEndpoint => ({ host: address.address, port: address.port });

/** Either spelling of a UDP address, as `@pilot/nat` spells it. */
function natAddress(address: TunnelAddress): UdpAddress {
  return 'address' in address
    ? { address: address.address, port: address.port }
    : { address: address.host, port: address.port };
}

function dualAddress(address: UdpAddress): DualAddress {
  return { address: address.address, host: address.address, port: address.port };
}

/**
 * The tunnel layer of a daemon (spec §3, reference §4 and §7.3): a `TunnelCodec` for the
 * `UdpTransport` that seals packets in PILS under keys agreed by signed PILA exchanges, plus the
 * machinery that finds a path to a peer (registry endpoint, LAN addresses, beacon punch, birthday
 * probing, beacon relay) and keeps it (keepalives, following the authenticated sender, upgrading a
 * relayed tunnel to a direct one in place).
 */
export class TunnelManager implements TunnelCodec {
  readonly stats: Record<string, number> = {};
  private readonly options: TunnelManagerOptions;
  private readonly directory: TunnelDirectory;
  private readonly encrypt: boolean;
  private readonly keepaliveMs: number;
  private readonly directTimeoutMs: number;
  private readonly directRetryMs: number;
  private beacon: UdpAddress | undefined;
  /** The beacon and its fallbacks; `beacon` is the one in use. */
  private readonly beacons: readonly UdpAddress[];
  private beaconIndex = 0;
  private readonly x25519: X25519KeyPair = generateX25519KeyPair();
  private readonly peerTable = new Map<number, Peer>();
  private readonly keyCache = new Map<number, { key: Uint8Array | undefined; at: number }>();
  /** When we last asked a node for its key or answered its key request (bounded; nodes need no entry). */
  private readonly keyRequestAt = new Map<number, number>();
  private readonly keyFetches = new Map<number, Promise<Uint8Array | undefined>>();
  private readonly ensures = new Map<number, Promise<PeerInfo>>();
  private readonly punches = new Map<string, PunchAttempt>();
  private readonly sideSockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly aborts = new Set<AbortController>();
  private readonly slab = new FrameSlab();
  private transport: UdpTransport | undefined;
  private beaconClient: BeaconClient | undefined;
  private offPunch: (() => void) | undefined;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private livenessTimer: NodeJS.Timeout | undefined;
  private nodeId = 0;
  private pila: Uint8Array | undefined;
  private mapping: NatMapping | undefined;
  private ownEndpoint: DualAddress | undefined;
  private closed = false;
  private unsolicitedWindow = 0;
  private unsolicitedCount = 0;

  constructor(options: TunnelManagerOptions) {
    this.options = options;
    this.directory = options.directory;
    this.encrypt = options.encrypt ?? true;
    this.keepaliveMs = options.keepaliveMs ?? 20_000;
    this.directTimeoutMs = options.directTimeoutMs ?? 6000;
    this.directRetryMs = options.directRetryMs ?? 20_000;
    this.mapping = options.natMapping;
    this.beacon = options.beacon === undefined ? undefined : natAddress(options.beacon);
    this.beacons =
      this.beacon === undefined ? [] : [this.beacon, ...(options.fallbackBeacons ?? []).map(natAddress)];
  }

  // ---- lifecycle ----

  /** Starts the beacon client on the transport's socket, keepalives and the relay upgrade loop. */
  attach(transport: UdpTransport, nodeId: number): void {
    if (this.closed) throw tunnelError(TunnelErrorCode.CLOSED, 'tunnel manager is closed');
    this.transport = transport;
    this.setNodeId(nodeId);
    this.keepaliveTimer = setInterval(() => this.keepalive(), this.keepaliveMs);
    this.keepaliveTimer.unref();
    this.livenessTimer = setInterval(() => this.checkLiveness(), LIVENESS_CHECK_MS);
    this.livenessTimer.unref();
    if (this.beacon !== undefined) {
      this.retryTimer = setInterval(() => this.retryDirect(), this.directRetryMs);
      this.retryTimer.unref();
    }
    if (this.mapping === undefined && this.options.reflectors !== undefined) void this.classify();
  }

  /** Our node ID (learned from the registry after binding): PILA, sealers and the beacon client follow. */
  setNodeId(nodeId: number): void {
    this.nodeId = nodeId;
    this.pila = this.encrypt
      ? createAuthKeyExchange(this.options.identity, nodeId, this.x25519.publicKey)
      : undefined;
    for (const peer of this.peerTable.values()) peer.crypto?.setOurNode(nodeId);
    this.startBeaconClient();
  }

  /** (Re)creates the beacon client for our node and the beacon in use, and discovers through it. */
  private startBeaconClient(): void {
    const nodeId = this.nodeId;
    this.offPunch?.();
    this.beaconClient?.close();
    this.beaconClient = undefined;
    if (this.transport !== undefined && this.beacon !== undefined && !this.closed) {
      // With our identity, our discovers prove who we are: a beacon then lets no one else move our relay.
      this.beaconClient = new BeaconClient(this.transport.socket, {
        node: nodeId,
        beacon: this.beacon,
        identity: this.options.identity,
      });
      this.offPunch = this.beaconClient.onPunchCommand((target) => this.onPunchCommand(target));
      if (nodeId !== 0) void this.discover();
    }
  }

  /** Our reflexive endpoint as the beacon sees the tunnel socket (also registers us with the beacon). */
  async discover(): Promise<DualAddress | undefined> {
    const client = this.beaconClient;
    if (client === undefined) return undefined;
    try {
      this.ownEndpoint = dualAddress(await client.discover());
      return this.ownEndpoint;
    } catch (error) {
      this.count('discover_failed');
      this.log('debug', 'beacon discover failed', { error: String(error) });
      // The beacon does not answer: the next one of the network, if there is one (tunnels are kept;
      // relays and punches go through the new one from now on).
      if (this.beacons.length > 1 && !this.closed && client === this.beaconClient) {
        const from = this.beacon;
        this.beaconIndex = (this.beaconIndex + 1) % this.beacons.length;
        this.beacon = this.beacons[this.beaconIndex];
        this.count('beacon_failover');
        this.log('warn', 'beacon unreachable: moved to the next one', {
          from: from === undefined ? '' : `${from.address}:${from.port}`,
          to: this.beacon === undefined ? '' : `${this.beacon.address}:${this.beacon.port}`,
        });
        this.startBeaconClient();
      }
      return undefined;
    }
  }

  /** Our reflexive endpoint from the last successful discover. */
  get endpoint(): DualAddress | undefined {
    return this.ownEndpoint;
  }

  /**
   * Classifies our NAT's mapping from the tunnel socket against the two `reflectors` (it decides our
   * role in birthday probing); undefined without reflectors or when they do not answer.
   */
  async classify(): Promise<NatMapping | undefined> {
    const reflectors = this.options.reflectors;
    const transport = this.transport;
    if (reflectors === undefined || transport === undefined) return this.mapping;
    try {
      const result = await classifyNat(transport.socket, reflectors);
      this.mapping = result.mapping;
      this.log('info', 'NAT classified', { mapping: result.mapping });
    } catch (error) {
      this.log('warn', 'NAT classification failed', { error: String(error) });
    }
    return this.mapping;
  }

  /** Our NAT's mapping ('easy' | 'hard') when known. */
  get natMapping(): NatMapping | undefined {
    return this.mapping;
  }

  /** Our X25519 public key (fresh at every start). */
  get tunnelPublicKey(): Uint8Array {
    return Uint8Array.from(this.x25519.publicKey);
  }

  /** Stops timers, punches, birthday sockets and the beacon client; the transport stays open. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.keepaliveTimer);
    clearInterval(this.retryTimer);
    clearInterval(this.livenessTimer);
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const attempt of this.punches.values()) clearInterval(attempt.timer);
    this.punches.clear();
    for (const abort of this.aborts) abort.abort();
    this.aborts.clear();
    this.offPunch?.();
    this.beaconClient?.close();
    this.beaconClient = undefined;
    for (const peer of this.peerTable.values()) {
      clearTimeout(peer.pilaReplyTimer);
      this.failWaiters(peer, tunnelError(TunnelErrorCode.CLOSED, 'tunnel manager closed'));
    }
    await Promise.all([...this.sideSockets].map((socket) => closeSocket(socket)));
    this.sideSockets.clear();
  }

  // ---- queries ----

  peers(): PeerInfo[] {
    return [...this.peerTable.values()].filter((peer) => this.hasPath(peer)).map((peer) => this.info(peer));
  }

  peer(nodeId: number): PeerInfo | undefined {
    const peer = this.peerTable.get(nodeId);
    return peer === undefined ? undefined : this.info(peer);
  }

  /** Drops a peer's keys and path (untrust, revoke); the next packet to it starts a new exchange. */
  forget(nodeId: number): void {
    const peer = this.peerTable.get(nodeId);
    if (peer === undefined) return;
    clearTimeout(peer.pilaReplyTimer);
    this.failWaiters(peer, tunnelError(TunnelErrorCode.UNREACHABLE, `node ${nodeId} was forgotten`));
    if (peer.side !== undefined) this.releaseSide(peer.side);
    this.peerTable.delete(nodeId);
    this.keyCache.delete(nodeId);
    this.transport?.removePeer({ network: 0, node: nodeId });
  }

  // ---- ensureTunnel ----

  /** Resolves once authenticated keys exist with the node (direct or relayed). */
  ensureTunnel(nodeId: number, options: { timeoutMs?: number } = {}): Promise<PeerInfo> {
    if (this.closed || this.transport === undefined) {
      return Promise.reject(tunnelError(TunnelErrorCode.CLOSED, 'tunnel manager is not attached'));
    }
    if (nodeId === this.nodeId) {
      return Promise.reject(tunnelError(TunnelErrorCode.UNREACHABLE, 'that is our own node'));
    }
    const existing = this.peerTable.get(nodeId);
    if (existing !== undefined && this.ready(existing)) return Promise.resolve(this.info(existing));
    const running = this.ensures.get(nodeId);
    if (running !== undefined) return running;
    const promise = this.establish(
      nodeId,
      options.timeoutMs ?? Math.max(this.directTimeoutMs + 6000, 10_000),
    );
    this.ensures.set(nodeId, promise);
    const clear = (): void => {
      this.ensures.delete(nodeId);
    };
    promise.then(clear, clear);
    return promise;
  }

  private async establish(nodeId: number, timeoutMs: number): Promise<PeerInfo> {
    const started = performance.now();
    const peer = this.peerOf(nodeId);
    peer.setupStart = started;
    peer.setupMs = undefined;
    peer.badKey = false;
    // The punch request goes first: the peer's NAT needs the beacon's command as early as possible.
    const beacon = this.beacon;
    if (beacon !== undefined) this.beaconClient?.requestPunch(nodeId);
    const keyPromise = this.encrypt ? this.registryKey(nodeId) : Promise.resolve(undefined);
    let where: { endpoint?: UdpAddress; lanAddrs?: readonly UdpAddress[] } = {};
    try {
      const found = await this.directory.resolve(nodeId);
      where = {
        ...(found.endpoint === undefined ? {} : { endpoint: natAddress(found.endpoint) }),
        lanAddrs: (found.lanAddrs ?? []).map(natAddress),
      };
    } catch (error) {
      this.log('debug', 'resolve failed', { node_id: nodeId, error: String(error) });
      if (peer.endpoint !== undefined) where = { endpoint: peer.endpoint };
    }
    if (this.encrypt && (await keyPromise) === undefined) {
      throw tunnelError(TunnelErrorCode.UNREACHABLE, `node ${nodeId} has no key in the registry`);
    }
    const candidates = this.candidatesOf(where);
    if (candidates.length === 0 && beacon === undefined) {
      throw tunnelError(TunnelErrorCode.UNREACHABLE, `no endpoint known for node ${nodeId} and no beacon`);
    }
    if (this.closed) throw tunnelError(TunnelErrorCode.CLOSED, 'tunnel manager closed');
    if (!this.encrypt) {
      const first = candidates[0];
      if (first === undefined)
        throw tunnelError(TunnelErrorCode.UNREACHABLE, `no endpoint for node ${nodeId}`);
      this.setDirect(peer, first);
      this.sendRawTo(PUNCH_FRAME, first);
      peer.setupMs = performance.now() - started;
      return this.info(peer);
    }
    return new Promise<PeerInfo>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (info) => {
          cleanup();
          resolve(info);
        },
        reject: (error) => {
          cleanup();
          reject(error);
        },
      };
      peer.waiters.push(waiter);
      let relayAt = started + this.directTimeoutMs;
      let punchAt = started + PUNCH_REPEAT_MS;
      const tick = (): void => {
        if (this.ready(peer)) {
          this.settle(peer);
          return;
        }
        const now = performance.now();
        if (now - started >= timeoutMs) {
          peer.waiters = peer.waiters.filter((w) => w !== waiter);
          waiter.reject(
            peer.badKey
              ? tunnelError(
                  TunnelErrorCode.BAD_KEY,
                  `node ${nodeId} answered with a key the registry does not hold`,
                )
              : tunnelError(
                  TunnelErrorCode.TIMEOUT,
                  `no authenticated answer from node ${nodeId} in ${timeoutMs} ms`,
                ),
          );
          return;
        }
        // Our PILA, and a PILK asking for theirs: a peer that still holds keys for us (we forgot
        // ours, or restarted) would not send its PILA again on its own.
        for (const candidate of candidates) {
          this.sendRawTo(this.pilaFrame(), candidate);
          this.sendRawTo(this.pilkFrame(), candidate);
        }
        if (beacon !== undefined && !peer.relay && now >= punchAt) {
          // Punch requests are single UDP datagrams: repeat one in case it (or a command) was lost.
          this.beaconClient?.requestPunch(nodeId);
          punchAt = now + PUNCH_REPEAT_MS;
        }
        if (beacon !== undefined && now >= relayAt) {
          if (!peer.relay) {
            this.log('info', 'no direct path yet, relaying', { node_id: nodeId });
            this.activateRelay(peer);
          }
          this.sendFrame(peer, this.pilaFrame());
          this.sendFrame(peer, this.pilkFrame());
          relayAt = now + 1000;
        }
      };
      const interval = setInterval(tick, ENSURE_RESEND_MS);
      this.timers.add(interval);
      const cleanup = (): void => {
        clearInterval(interval);
        this.timers.delete(interval);
      };
      tick();
    });
  }

  private candidatesOf(where: { endpoint?: UdpAddress; lanAddrs?: readonly UdpAddress[] }): UdpAddress[] {
    const out: UdpAddress[] = [];
    const add = (address: UdpAddress | undefined): void => {
      if (address === undefined || address.port < 1 || address.port > 0xffff) return;
      if (!out.some((known) => sameUdpAddress(known, address))) out.push(address);
    };
    add(where.endpoint);
    for (const lan of lanCandidates(where.lanAddrs ?? [], where.endpoint)) add(lan);
    return out;
  }

  // ---- TunnelCodec ----

  seal(packet: Uint8Array, to: Address): Uint8Array | undefined {
    if (this.closed) return undefined;
    const peer = this.peerOf(to.node);
    if (!this.encrypt) {
      const frame = new Uint8Array(4 + packet.length);
      new DataView(frame.buffer).setUint32(0, TunnelMagic.PLAINTEXT);
      frame.set(packet, 4);
      peer.bytesSent += packet.length;
      return this.routeSealed(peer, frame);
    }
    if (!this.hasPath(peer)) {
      // The daemon told the transport where the node is: that is where our key exchange goes.
      const known = this.transport?.peerEndpoint(to);
      if (known !== undefined) peer.endpoint = natAddress(known);
    }
    const crypto = peer.crypto;
    if (crypto === undefined || !peer.authenticated) {
      this.enqueue(peer, packet);
      this.sendPila(peer, false);
      return undefined;
    }
    peer.bytesSent += packet.length;
    peer.lastSentAt = performance.now();
    this.count('sealed');
    // Sealed straight into a slab view (see FrameSlab): a fresh array per frame cost more than AES-GCM.
    const frame = this.slab.take(packet.length + SEALED_FRAME_OVERHEAD);
    crypto.sealInto(packet, frame, 0);
    return this.routeSealed(peer, frame);
  }

  /**
   * The transport's no-copy path (it lends a reused buffer): safe here because `seal` never keeps
   * the packet it is given (sealing writes a new frame; queueing and relaying copy).
   */
  sealTransient(packet: Uint8Array, to: Address): Uint8Array | undefined {
    return this.seal(packet, to);
  }

  open(frame: Uint8Array, from: UdpEndpoint): Uint8Array | undefined {
    if (this.closed || frame.length === 0) return undefined;
    const source: UdpAddress = { address: from.host, port: from.port };
    if (frame[0]! < 0x10) {
      // Beacon messages: the beacon client handles replies and punch commands; relay deliveries are ours.
      if (frame[0] !== 0x06) return undefined;
      return this.openRelayDeliver(frame, source);
    }
    return this.openTunnelFrame(frame, { kind: 'direct', from: source });
  }

  // ---- receiving ----

  private openRelayDeliver(frame: Uint8Array, from: UdpAddress): Uint8Array | undefined {
    const beacon = this.beacon;
    if (beacon === undefined || !sameUdpAddress(from, beacon)) {
      this.drop('relay_not_from_beacon');
      return undefined;
    }
    let source: number;
    let inner: Uint8Array;
    try {
      const message = decodeBeaconMessage(frame);
      if (message.type !== 'relayDeliver') return undefined;
      source = message.source;
      inner = message.frame;
    } catch (error) {
      if (!isPilotError(error)) throw error;
      this.drop('relay_malformed');
      return undefined;
    }
    this.count('relay_received');
    // The beacon does not authenticate the source it names: the inner frame's own sender must agree.
    if (inner.length >= 8) {
      const magic = readU32(inner, 0);
      const named =
        magic === TunnelMagic.ENCRYPTED ||
        magic === TunnelMagic.AUTH_KEY_EXCHANGE ||
        magic === TunnelMagic.KEY_EXCHANGE;
      if (named && readU32(inner, 4) !== source) {
        this.drop('relay_sender_mismatch');
        return undefined;
      }
    }
    return this.openTunnelFrame(inner, { kind: 'relay' }, source);
  }

  private openTunnelFrame(frame: Uint8Array, via: Via, relaySource?: number): Uint8Array | undefined {
    if (frame.length < 4) {
      this.drop('truncated');
      return undefined;
    }
    switch (readU32(frame, 0)) {
      case TunnelMagic.ENCRYPTED:
        return this.openSealed(frame, via);
      case TunnelMagic.AUTH_KEY_EXCHANGE:
        this.onPila(frame, via);
        return undefined;
      case TunnelMagic.KEY_EXCHANGE:
        this.onPilk(frame, via);
        return undefined;
      case TunnelMagic.PUNCH:
        this.count('punch_received');
        return undefined;
      case TunnelMagic.PLAINTEXT:
        return this.openPlaintext(frame, via, relaySource);
      default:
        this.drop('bad_magic');
        return undefined;
    }
  }

  private openSealed(frame: Uint8Array, via: Via): Uint8Array | undefined {
    if (frame.length < 36) {
      this.drop('truncated');
      return undefined;
    }
    const sender = readU32(frame, 4);
    const peer = this.peerTable.get(sender);
    const crypto = peer?.crypto;
    if (peer === undefined || crypto === undefined) {
      this.drop('no_keys');
      if (sender !== this.nodeId) this.requestKey(sender, via);
      return undefined;
    }
    // Every frame given to us is ours (the transport's datagram, a relay delivery, a birthday
    // socket's message) and read no more once opened: decrypt in place.
    const outcome = crypto.open(frame, true);
    if (!outcome.ok) {
      this.drop(outcome.reason);
      // One event a second per peer at most: a replay flood must not flood the daemon's webhook.
      const now = performance.now();
      if (outcome.reason === 'replay' && now - peer.lastReplayEventAt >= 1000) {
        peer.lastReplayEventAt = now;
        this.emit({ type: 'security.nonce_replay', node_id: sender });
      }
      if (crypto.failures >= KEY_REQUEST_AFTER_FAILURES) this.requestKey(sender, via);
      return undefined;
    }
    const packet = outcome.plaintext;
    if (packet.length > 0 && (packet.length < PACKET_MIN || readU32(packet, PACKET_SRC_NODE) !== sender)) {
      // A peer may only speak for itself (the key is shared by both ends, so check the source too).
      this.drop('spoofed_source');
      return undefined;
    }
    this.authenticatedFrom(peer, via, true);
    peer.bytesRecv += packet.length;
    if (packet.length === 0) {
      this.count('keepalive_received');
      return undefined;
    }
    this.count('opened');
    return packet;
  }

  private openPlaintext(
    frame: Uint8Array,
    via: Via,
    relaySource: number | undefined,
  ): Uint8Array | undefined {
    if (this.encrypt) {
      this.drop('plaintext_refused');
      return undefined;
    }
    const packet = frame.subarray(4);
    if (packet.length < PACKET_MIN) {
      this.drop('truncated');
      return undefined;
    }
    const sender = readU32(packet, PACKET_SRC_NODE);
    if (relaySource !== undefined && relaySource !== sender) {
      this.drop('relay_sender_mismatch');
      return undefined;
    }
    // Plaintext mode authenticates nothing: the sender's address is taken as it comes.
    const peer = this.peerOf(sender);
    peer.authenticated = false;
    this.authenticatedFrom(peer, via, true);
    peer.bytesRecv += packet.length;
    return packet;
  }

  private onPilk(frame: Uint8Array, via: Via): void {
    if (frame.length < 40) {
      this.drop('truncated');
      return;
    }
    const sender = readU32(frame, 4);
    // We always have an identity: an unauthenticated key is refused and answered with our PILA
    // (the newest upstream uses exactly this as a "send me your key" request).
    this.drop('pilk_refused');
    if (!this.encrypt || sender === this.nodeId) return;
    this.replyKeyRequest(sender, via);
  }

  private onPila(frame: Uint8Array, via: Via): void {
    if (!this.encrypt) {
      this.drop('pila_plaintext_mode');
      return;
    }
    if (frame.length < AUTH_KEY_EXCHANGE_SIZE) {
      this.drop('truncated');
      return;
    }
    const sender = readU32(frame, 4);
    if (sender === this.nodeId || sender === 0) {
      this.drop('pila_bad_sender');
      return;
    }
    const known = this.peerTable.get(sender);
    const now = performance.now();
    if (
      known?.lastPilaFrame !== undefined &&
      now - known.lastPilaAt < PILA_DEBOUNCE_MS &&
      bytesEqual(known.lastPilaFrame, frame.subarray(0, AUTH_KEY_EXCHANGE_SIZE))
    ) {
      this.count('pila_debounced');
      return;
    }
    const copy = Uint8Array.from(frame.subarray(0, AUTH_KEY_EXCHANGE_SIZE));
    this.verifyPila(sender, copy).then(
      (verified) => {
        if (verified !== undefined && !this.closed) this.acceptPila(verified, copy, via);
      },
      (error: unknown) => this.log('warn', 'PILA handling failed', { node_id: sender, error: String(error) }),
    );
  }

  private async verifyPila(sender: number, frame: Uint8Array): Promise<VerifiedAuthKeyExchange | undefined> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const key = await this.registryKey(sender, attempt > 0);
      if (key === undefined) {
        this.drop('pila_unknown_node');
        return undefined;
      }
      try {
        return verifyAuthKeyExchange(frame, key);
      } catch (error) {
        if (isPilotError(error, CryptoErrorCode.KEY_MISMATCH) && attempt === 0) continue;
        const peer = this.peerTable.get(sender);
        if (isPilotError(error, CryptoErrorCode.KEY_MISMATCH)) {
          this.drop('pila_bad_key');
          if (peer !== undefined) peer.badKey = true;
          this.emit({ type: 'security.bad_key', node_id: sender });
        } else if (isPilotError(error, CryptoErrorCode.BAD_SIGNATURE)) {
          this.drop('pila_bad_signature');
          this.emit({ type: 'security.bad_signature', node_id: sender });
        } else if (isPilotError(error)) {
          this.drop('pila_malformed');
        } else {
          throw error;
        }
        return undefined;
      }
    }
    return undefined;
  }

  private acceptPila(verified: VerifiedAuthKeyExchange, frame: Uint8Array, via: Via): void {
    const peer = this.peerOf(verified.senderNode);
    peer.lastPilaFrame = frame;
    peer.lastPilaAt = performance.now();
    const hadState = peer.crypto !== undefined;
    const changed =
      hadState && !bytesEqual(peer.crypto?.peerX25519 ?? new Uint8Array(0), verified.x25519PublicKey);
    let fresh = false;
    if (!hadState || changed) {
      try {
        peer.crypto = new PeerCrypto(
          this.x25519.privateKey,
          verified.x25519PublicKey,
          this.nodeId,
          peer.nodeId,
        );
      } catch (error) {
        if (!isPilotError(error)) throw error;
        this.drop('pila_bad_x25519');
        return;
      }
      peer.authenticated = true;
      fresh = true;
      this.count(changed ? 'rekeyed' : 'keyed');
    }
    this.count('pila_accepted');
    const wasRelay = peer.relay;
    const viaSocket = via.kind === 'side' ? via.socket : undefined;
    const fromElsewhere =
      !fresh &&
      via.kind !== 'relay' &&
      !peer.relay &&
      (peer.endpoint === undefined || !sameUdpAddress(peer.endpoint, via.from) || peer.side !== viaSocket);
    // A PILA under a new key proves a new session and may set the path; the same key again (which
    // anyone could replay) only takes a relayed tunnel back to a direct one.
    this.authenticatedFrom(peer, via, fresh);
    const upgraded = wasRelay && !peer.relay;
    if (fresh) {
      this.emit({
        type: changed ? 'tunnel.rekeyed' : 'tunnel.established',
        node_id: peer.nodeId,
        relay: peer.relay,
      });
      this.log('info', changed ? 'peer re-keyed' : 'tunnel keys set', {
        node_id: peer.nodeId,
        relay: peer.relay,
      });
    }
    if (fresh || upgraded) this.sendPila(peer, true);
    else if (fromElsewhere) {
      // The peer is trying a new path (its mapping changed, a punch or birthday socket): answer
      // there, so that it gets an authenticated frame on that path. Our own path moves only when
      // its PILS arrives from there.
      const now = performance.now();
      if (now - peer.lastPilaSentAt >= PILA_REPLY_INTERVAL_MS) {
        peer.lastPilaSentAt = now;
        this.count('pila_sent');
        this.sendVia(peer.nodeId, via, this.pilaFrame());
      } else {
        this.count('pila_throttled');
      }
    }
    this.flush(peer);
    this.settle(peer);
  }

  /** Book-keeping for a frame that proved it came from `peer`, and the path it came by. */
  private authenticatedFrom(peer: Peer, via: Via, mayMove: boolean): void {
    const now = performance.now();
    peer.lastSeenAt = now;
    if (peer.recoveringSince !== undefined) {
      peer.recoveringSince = undefined;
      this.count('path_recovered');
    }
    peer.recoveries = 0;
    if (peer.setupMs === undefined && peer.setupStart !== undefined) peer.setupMs = now - peer.setupStart;
    this.settlePunch(via);
    if (via.kind === 'relay') {
      if (!peer.relay && (peer.endpoint === undefined || now - peer.lastDirectAt > DIRECT_FRESH_MS)) {
        this.activateRelay(peer);
      }
      return;
    }
    peer.lastDirectAt = now;
    const sideSocket = via.kind === 'side' ? via.socket : undefined;
    const samePath =
      peer.endpoint !== undefined && sameUdpAddress(peer.endpoint, via.from) && peer.side === sideSocket;
    if (samePath && !peer.relay) return;
    if (!mayMove && !peer.relay && peer.endpoint !== undefined && via.kind === 'direct') {
      // A same-key PILA (which anyone could replay) never moves a direct tunnel; a PILS does.
      this.count('pila_not_moved');
      return;
    }
    // A first path, a replay-protected PILS from a new endpoint (our peer's NAT mapping changed), a
    // fresh key, a birthday socket, or a direct PILA while relayed (the upgrade the search is for).
    this.setDirect(peer, via.from, sideSocket);
  }

  private setDirect(peer: Peer, endpoint: UdpAddress, side?: Socket): void {
    const moved = peer.endpoint !== undefined && !sameUdpAddress(peer.endpoint, endpoint) && !peer.relay;
    const restored = peer.relay;
    if (peer.side !== undefined && peer.side !== side) this.releaseSide(peer.side);
    peer.endpoint = endpoint;
    peer.side = side;
    peer.relay = false;
    peer.lastDirectAt = performance.now();
    // With a birthday socket the transport must not send from its own socket: the codec does.
    this.transport?.addPeer({ network: 0, node: peer.nodeId }, toEndpoint(endpoint));
    if (restored) {
      this.count('direct_restored');
      this.emit({
        type: 'tunnel.direct_restored',
        node_id: peer.nodeId,
        endpoint: formatUdpAddress(endpoint),
      });
      this.log('info', 'direct path restored', {
        node_id: peer.nodeId,
        endpoint: formatUdpAddress(endpoint),
      });
    } else if (moved) {
      this.count('moved');
      this.emit({ type: 'tunnel.moved', node_id: peer.nodeId, endpoint: formatUdpAddress(endpoint) });
    }
  }

  private activateRelay(peer: Peer): void {
    const beacon = this.beacon;
    if (beacon === undefined || peer.relay) return;
    peer.relay = true;
    this.transport?.addPeer({ network: 0, node: peer.nodeId }, toEndpoint(beacon));
    this.count('relay_activated');
    this.emit({ type: 'tunnel.relay_activated', node_id: peer.nodeId });
  }

  // ---- sending ----

  /** Where a sealed frame goes: returned to the transport (direct or relay), or sent by us (birthday socket). */
  private routeSealed(peer: Peer, frame: Uint8Array): Uint8Array | undefined {
    if (peer.relay) {
      this.count('relay_sent');
      return this.relayWrap(peer.nodeId, frame);
    }
    if (peer.side !== undefined && peer.endpoint !== undefined) {
      peer.side.send(frame, peer.endpoint.port, peer.endpoint.address, () => {});
      return undefined;
    }
    return frame;
  }

  /** Sends a tunnel frame (key exchange, keepalive, queued packet) by the peer's current path. */
  private sendFrame(peer: Peer, frame: Uint8Array): void {
    const beacon = this.beacon;
    if (peer.relay && beacon !== undefined) {
      this.count('relay_sent');
      this.sendRawTo(this.relayWrap(peer.nodeId, frame), beacon);
    } else if (peer.side !== undefined && peer.endpoint !== undefined) {
      peer.side.send(frame, peer.endpoint.port, peer.endpoint.address, () => {});
    } else if (peer.endpoint !== undefined) {
      this.sendRawTo(frame, peer.endpoint);
    }
  }

  private sendRawTo(frame: Uint8Array, to: UdpAddress): void {
    if (this.closed || this.transport === undefined) return;
    try {
      this.transport.sendRaw(frame, toEndpoint(to));
    } catch (error) {
      this.log('debug', 'send failed', { to: formatUdpAddress(to), error: String(error) });
    }
  }

  private relayWrap(destination: number, frame: Uint8Array): Uint8Array {
    return encodeBeaconMessage({ type: 'relay', source: this.nodeId, destination, frame });
  }

  private pilaFrame(): Uint8Array {
    if (this.pila === undefined)
      this.pila = createAuthKeyExchange(this.options.identity, this.nodeId, this.x25519.publicKey);
    return this.pila;
  }

  /**
   * Sends our PILA by the peer's path. Replies are throttled (reference §14: at most one a second);
   * a throttled reply is sent when the interval ends rather than lost.
   */
  private sendPila(peer: Peer, reply: boolean): void {
    if (!this.encrypt || (peer.endpoint === undefined && !peer.relay)) return;
    const now = performance.now();
    const wait = peer.lastPilaSentAt + PILA_REPLY_INTERVAL_MS - now;
    if (wait > 0) {
      if (reply && peer.pilaReplyTimer === undefined) {
        peer.pilaReplyTimer = setTimeout(() => {
          peer.pilaReplyTimer = undefined;
          if (!this.closed) this.sendPila(peer, true);
        }, wait);
        peer.pilaReplyTimer.unref();
      }
      this.count('pila_throttled');
      return;
    }
    peer.lastPilaSentAt = now;
    this.count('pila_sent');
    this.sendFrame(peer, this.pilaFrame());
    if (peer.crypto === undefined) this.sendFrame(peer, this.pilkFrame());
  }

  /** A frame we could not open from a node: ask for its PILA with a PILK (throttled), via the same path. */
  private requestKey(sender: number, via: Via): void {
    const now = performance.now();
    if (!this.mayAnswer(sender, now)) return;
    this.count('key_requests');
    const pilk = this.pilkFrame();
    // The PILK says "send me your PILA"; our own PILA goes along so the peer can re-key if it lost ours.
    for (const frame of [this.pilaFrame(), pilk]) this.sendVia(sender, via, frame);
  }

  private pilkFrame(): Uint8Array {
    const pilk = new Uint8Array(40);
    const view = new DataView(pilk.buffer);
    view.setUint32(0, TunnelMagic.KEY_EXCHANGE);
    view.setUint32(4, this.nodeId);
    pilk.set(this.x25519.publicKey, 8);
    return pilk;
  }

  private replyKeyRequest(sender: number, via: Via): void {
    const now = performance.now();
    if (!this.mayAnswer(sender, now)) {
      this.count('pila_throttled');
      return;
    }
    this.count('pila_sent');
    this.sendVia(sender, via, this.pilaFrame());
  }

  /** Key requests and answers to them: one a second per node, UNSOLICITED_PILA_PER_SECOND overall. */
  private mayAnswer(node: number, now: number): boolean {
    const last = this.keyRequestAt.get(node);
    if (last !== undefined && now - last < PILA_REPLY_INTERVAL_MS) return false;
    if (!this.unsolicitedAllowed(now)) return false;
    this.keyRequestAt.delete(node);
    this.keyRequestAt.set(node, now);
    if (this.keyRequestAt.size > KEY_REQUEST_TABLE_LIMIT) {
      const oldest = this.keyRequestAt.keys().next().value;
      if (oldest !== undefined) this.keyRequestAt.delete(oldest);
    }
    return true;
  }

  private unsolicitedAllowed(now: number): boolean {
    const second = Math.floor(now / 1000);
    if (second !== this.unsolicitedWindow) {
      this.unsolicitedWindow = second;
      this.unsolicitedCount = 0;
    }
    if (this.unsolicitedCount >= UNSOLICITED_PILA_PER_SECOND) return false;
    this.unsolicitedCount++;
    return true;
  }

  private sendVia(node: number, via: Via, frame: Uint8Array): void {
    const beacon = this.beacon;
    if (via.kind === 'relay') {
      if (beacon !== undefined) this.sendRawTo(this.relayWrap(node, frame), beacon);
    } else if (via.kind === 'side') {
      via.socket.send(frame, via.from.port, via.from.address, () => {});
    } else {
      this.sendRawTo(frame, via.from);
    }
  }

  private enqueue(peer: Peer, packet: Uint8Array): void {
    if (peer.queue.length === 0) {
      let queued = 0;
      for (const other of this.peerTable.values()) if (other.queue.length > 0) queued++;
      if (queued >= QUEUED_PEERS_LIMIT) {
        this.drop('queue_peers_full');
        return;
      }
    }
    peer.queue.push(Uint8Array.from(packet));
    this.count('queued');
    if (peer.queue.length > QUEUE_LIMIT) {
      peer.queue.shift();
      this.drop('queue_overflow');
    }
  }

  private flush(peer: Peer): void {
    const crypto = peer.crypto;
    if (crypto === undefined || peer.queue.length === 0) return;
    const queued = peer.queue;
    peer.queue = [];
    for (const packet of queued) {
      peer.bytesSent += packet.length;
      this.sendFrame(peer, crypto.seal(packet));
    }
    this.count('flushed', queued.length);
  }

  // ---- punching, birthday, relay upgrade ----

  /** A punch command: PILP and our PILA to that endpoint for a while, birthday probing if nothing comes. */
  private onPunchCommand(target: UdpAddress): void {
    if (this.closed) return;
    this.count('punch_commands');
    const key = formatUdpAddress(target);
    const existing = this.punches.get(key);
    if (existing !== undefined && !existing.done) return;
    const started = performance.now();
    const lifetime = Math.max(this.directTimeoutMs, BIRTHDAY_AFTER_MS + 1000);
    const attempt: PunchAttempt = {
      target,
      started,
      stopAt: started + lifetime,
      birthday: false,
      done: false,
      abort: undefined,
      timer: setInterval(() => this.punchTick(key, attempt), PUNCH_INTERVAL_MS),
    };
    this.punches.set(key, attempt);
    this.punchTick(key, attempt);
  }

  private punchTick(key: string, attempt: PunchAttempt): void {
    const now = performance.now();
    if (attempt.done || now >= attempt.stopAt || this.closed) {
      clearInterval(attempt.timer);
      attempt.done = true;
      if (this.punches.get(key) === attempt) this.punches.delete(key);
      return;
    }
    this.sendRawTo(PUNCH_FRAME, attempt.target);
    if (this.encrypt) this.sendRawTo(this.pilaFrame(), attempt.target);
    else this.sendRawTo(PUNCH_FRAME, attempt.target);
    if (!attempt.birthday && now - attempt.started >= BIRTHDAY_AFTER_MS) {
      attempt.birthday = true;
      this.startBirthday(attempt);
    }
  }

  /** An authenticated frame arrived: punches towards that IP have done their job. */
  private settlePunch(via: Via): void {
    if (via.kind === 'relay' || this.punches.size === 0) return;
    const ip = normalizeIp(via.from.address);
    for (const [key, attempt] of this.punches) {
      if (normalizeIp(attempt.target.address) !== ip) continue;
      attempt.done = true;
      attempt.abort?.abort();
      clearInterval(attempt.timer);
      this.punches.delete(key);
    }
  }

  private startBirthday(attempt: PunchAttempt): void {
    const sockets = this.options.birthdaySockets ?? 256;
    const transport = this.transport;
    if (this.mapping === undefined || sockets <= 0 || transport === undefined || !this.encrypt) return;
    const abort = new AbortController();
    this.aborts.add(abort);
    attempt.abort = abort;
    const timeoutMs = Math.max(2000, attempt.stopAt - performance.now() + 2000);
    const done = (): void => {
      this.aborts.delete(abort);
    };
    this.count('birthday_started');
    if (this.mapping === 'hard') {
      birthdayPunchHard(attempt.target, { sockets, timeoutMs, resendMs: 500, signal: abort.signal }).then(
        (result) => {
          done();
          if (this.closed) {
            void closeSocket(result.socket);
            return;
          }
          this.count('birthday_hit');
          this.adoptSide(result.socket, result.address);
        },
        (error: unknown) => {
          done();
          this.log('debug', 'birthday (hard side) ended', { error: String(error) });
        },
      );
    } else {
      birthdayProbeEasy(transport.socket, attempt.target.address, { timeoutMs, signal: abort.signal }).then(
        (result) => {
          done();
          if (this.closed) return;
          this.count('birthday_hit');
          for (let i = 0; i < 3; i++) this.sendRawTo(this.pilaFrame(), result.address);
        },
        (error: unknown) => {
          done();
          this.log('debug', 'birthday (easy side) ended', { error: String(error) });
        },
      );
    }
  }

  /** A birthday socket whose mapping the peer found: frames on it are ours; it joins a peer on its first PILA. */
  private adoptSide(socket: Socket, peerAddress: UdpAddress): void {
    this.sideSockets.add(socket);
    socket.on('message', (message: Buffer, remote: RemoteInfo) => {
      if (this.closed) return;
      const bytes = new Uint8Array(message.buffer, message.byteOffset, message.length);
      const packet = this.openTunnelFrame(bytes, {
        kind: 'side',
        socket,
        from: { address: remote.address, port: remote.port },
      });
      if (packet !== undefined) this.transport?.receivePacket(packet);
    });
    for (let i = 0; i < 3; i++)
      socket.send(this.pilaFrame(), peerAddress.port, peerAddress.address, () => {});
    // Unclaimed after a while (the peer never authenticated on it): give the socket back.
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const claimed = [...this.peerTable.values()].some((peer) => peer.side === socket);
      if (!claimed) this.releaseSide(socket);
    }, 10_000);
    timer.unref();
    this.timers.add(timer);
  }

  private releaseSide(socket: Socket): void {
    if (!this.sideSockets.delete(socket)) return;
    void closeSocket(socket);
  }

  /** Relayed tunnels look for a direct path again: a punch request and our PILA to the registry endpoint. */
  private retryDirect(): void {
    for (const peer of this.peerTable.values()) {
      if (!peer.relay || peer.crypto === undefined) continue;
      this.count('direct_retries');
      this.beaconClient?.requestPunch(peer.nodeId);
      this.directory.resolve(peer.nodeId).then(
        (found) => {
          const where = {
            ...(found.endpoint === undefined ? {} : { endpoint: natAddress(found.endpoint) }),
            lanAddrs: (found.lanAddrs ?? []).map(natAddress),
          };
          for (const candidate of this.candidatesOf(where)) this.sendRawTo(this.pilaFrame(), candidate);
        },
        () => undefined,
      );
    }
  }

  /**
   * A path that went silent (our NAT or the peer's changed its mapping, a router forgot it) is
   * searched for again: re-classify our NAT (its mode may have changed), punch through the beacon
   * (birthday probing included), and relay if nothing authenticated comes back within
   * directTimeoutMs; the relayed tunnel then upgrades to a direct one as usual.
   */
  private checkLiveness(): void {
    if (this.closed || !this.encrypt) return;
    const now = performance.now();
    for (const peer of this.peerTable.values()) {
      if (peer.crypto === undefined || !this.hasPath(peer) || !Number.isFinite(peer.lastSeenAt)) continue;
      const silent = now - peer.lastSeenAt;
      if (peer.recoveringSince !== undefined) {
        if (now - peer.recoveringSince >= this.directTimeoutMs && !peer.relay && this.beacon !== undefined) {
          this.log('info', 'silent path not recovered directly, relaying', { node_id: peer.nodeId });
          this.activateRelay(peer);
          this.sendPila(peer, false);
        }
        if (now - peer.recoveringSince < this.directTimeoutMs * 2) continue;
        peer.recoveringSince = undefined;
      }
      const sending = now - peer.lastSentAt < 1500 && peer.lastSentAt > peer.lastSeenAt;
      const stale = (sending && silent > SILENT_WHILE_SENDING_MS) || silent > this.keepaliveMs * 2.5;
      if (!stale || peer.recoveries >= MAX_RECOVERIES) continue;
      peer.recoveries++;
      peer.recoveringSince = now;
      this.count('path_lost');
      this.emit({ type: 'tunnel.path_lost', node_id: peer.nodeId, silent_ms: Math.round(silent) });
      this.log('info', 'path silent, searching again', {
        node_id: peer.nodeId,
        silent_ms: Math.round(silent),
      });
      void this.recover(peer);
    }
  }

  private async recover(peer: Peer): Promise<void> {
    const started = performance.now();
    // First a PILK, which asks the peer for its PILA: a healthy path answers at once
    // (authenticated), so a peer that was merely quiet is not taken for lost.
    this.sendFrame(peer, this.pilkFrame());
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, PROBE_WAIT_MS);
      this.timers.add(timer);
    });
    if (this.closed || peer.lastSeenAt >= started) return;
    if (this.options.reflectors !== undefined) await this.classify();
    if (this.closed) return;
    this.count('path_repunch');
    this.beaconClient?.requestPunch(peer.nodeId);
    this.sendFrame(peer, this.pilkFrame());
  }

  /** Keepalives: discover to the beacon (its mapping), and a sealed empty frame to every keyed peer. */
  private keepalive(): void {
    if (this.closed) return;
    void this.discover();
    for (const peer of this.peerTable.values()) {
      if (!this.hasPath(peer)) continue;
      this.count('keepalives_sent');
      if (peer.crypto !== undefined && peer.authenticated) {
        // An empty sealed frame is authenticated and replay-protected, so it moves the tunnel when
        // our NAT mapping changed; a reference peer drops it as an empty packet.
        this.sendFrame(peer, peer.crypto.seal(new Uint8Array(0)));
      } else if (!peer.relay) {
        this.sendFrame(peer, PUNCH_FRAME);
      }
    }
  }

  /** Sends keepalives now (tests, and the daemon after a network change). */
  keepaliveNow(): void {
    this.keepalive();
  }

  // ---- helpers ----

  private async registryKey(nodeId: number, refresh = false): Promise<Uint8Array | undefined> {
    const cached = this.keyCache.get(nodeId);
    const ttl = cached?.key === undefined ? NEGATIVE_KEY_CACHE_MS : KEY_CACHE_MS;
    if (!refresh && cached !== undefined && performance.now() - cached.at < ttl) return cached.key;
    const running = this.keyFetches.get(nodeId);
    if (running !== undefined) return running;
    const fetch = this.directory.publicKey(nodeId).then(
      (key) => {
        this.keyFetches.delete(nodeId);
        // Unknown nodes are remembered briefly too, so a flood naming random nodes costs one lookup each.
        this.keyCache.set(nodeId, { key, at: performance.now() });
        if (this.keyCache.size > KEY_CACHE_LIMIT) {
          const oldest = this.keyCache.keys().next().value;
          if (oldest !== undefined) this.keyCache.delete(oldest);
        }
        return key;
      },
      (error: unknown) => {
        this.keyFetches.delete(nodeId);
        this.log('debug', 'registry key fetch failed', { node_id: nodeId, error: String(error) });
        return undefined;
      },
    );
    this.keyFetches.set(nodeId, fetch);
    return fetch;
  }

  private peerOf(nodeId: number): Peer {
    let peer = this.peerTable.get(nodeId);
    if (peer === undefined) {
      peer = {
        nodeId,
        endpoint: undefined,
        side: undefined,
        relay: false,
        crypto: undefined,
        authenticated: false,
        queue: [],
        lastPilaSentAt: Number.NEGATIVE_INFINITY,
        pilaReplyTimer: undefined,
        lastPilaFrame: undefined,
        lastPilaAt: Number.NEGATIVE_INFINITY,
        lastSeenAt: Number.NEGATIVE_INFINITY,
        lastDirectAt: Number.NEGATIVE_INFINITY,
        lastSentAt: Number.NEGATIVE_INFINITY,
        lastReplayEventAt: Number.NEGATIVE_INFINITY,
        recoveringSince: undefined,
        recoveries: 0,
        setupStart: undefined,
        setupMs: undefined,
        bytesSent: 0,
        bytesRecv: 0,
        badKey: false,
        waiters: [],
      };
      this.peerTable.set(nodeId, peer);
    }
    return peer;
  }

  private hasPath(peer: Peer): boolean {
    return peer.relay || peer.endpoint !== undefined;
  }

  private ready(peer: Peer): boolean {
    if (!this.hasPath(peer)) return false;
    return !this.encrypt || (peer.crypto !== undefined && peer.authenticated);
  }

  private settle(peer: Peer): void {
    if (!this.ready(peer) || peer.waiters.length === 0) return;
    const waiters = peer.waiters;
    peer.waiters = [];
    const info = this.info(peer);
    for (const waiter of waiters) waiter.resolve(info);
  }

  private failWaiters(peer: Peer, error: Error): void {
    const waiters = peer.waiters;
    peer.waiters = [];
    for (const waiter of waiters) waiter.reject(error);
  }

  private info(peer: Peer): PeerInfo {
    const beacon = this.beacon;
    const endpoint =
      peer.relay && beacon !== undefined
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
      ...(peer.setupMs === undefined ? {} : { setup_ms: Math.round(peer.setupMs * 10) / 10 }),
      last_seen_ms: Number.isFinite(peer.lastSeenAt) ? Math.round(performance.now() - peer.lastSeenAt) : -1,
      bytes_sent: peer.bytesSent,
      bytes_recv: peer.bytesRecv,
    };
  }

  private count(name: string, by = 1): void {
    this.stats[name] = (this.stats[name] ?? 0) + by;
  }

  private drop(reason: string): void {
    this.count(`drop_${reason}`);
    this.count('dropped');
  }

  private emit(event: TunnelEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch (error) {
      this.log('warn', 'tunnel event listener threw', { error: String(error) });
    }
  }

  private log(
    level: 'debug' | 'info' | 'warn' | 'error',
    message: string,
    fields?: Record<string, unknown>,
  ): void {
    this.options.log?.(level, message, fields);
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
