import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { ReplayWindow } from '@pilot/crypto';
import {
  type BeaconMessage,
  checkUdpAddress,
  encodeBeaconMessage,
  isPilotError,
  sameUdpAddress,
  toIpEndpoint,
  type UdpAddress,
} from '@pilot/wire';
import { decodeBeaconRequest } from '../beacon-request.js';
import { checkDiscoverProof, type DiscoverProof } from '../discover-proof.js';
import { KeyedLimiter, TokenBucket } from '../rate-limit.js';
import { sendAddress } from '../send-address.js';
import { STUN_HEADER_SIZE, StunAttributeType, StunClass, StunMethod } from '../stun/constants.js';
import {
  decodeStunMessage,
  encodeStunMessage,
  errorCodeAttribute,
  isStunMessage,
  mappedAddressAttribute,
  type StunAttribute,
  type StunMessage,
  softwareAttribute,
  stunAttributeSize,
  unknownAttributesAttribute,
  xorMappedAddressAttribute,
} from '../stun/message.js';
import {
  checkSyncAuth,
  encodeSyncAuth,
  newSyncInstance,
  SYNC_KEY_MIN_SIZE,
  type SyncAuth,
  SyncSequence,
  syncSequenceMs,
} from '../sync-auth.js';

/**
 * How the beacon bounds what it sends to a source it cannot verify (beacon messages and STUN
 * Binding carry no authentication, so every source is unverified):
 * - `strict`: the bytes sent because of one datagram, to any address, never exceed that datagram's
 *   size. Our nodes pad their requests; a 5-byte reference discover gets no reply (it is still
 *   recorded), a 9-byte reference punch request makes only the punch command to the target, and a
 *   bare 20-byte STUN request gets no answer.
 * - `compatible`: as strict, but a request too short for its minimal answer is answered anyway
 *   while a global budget of excess bytes (`excessBytesPerSecond`) lasts; the excess is at most 12
 *   bytes for IPv4 (bare STUN request 20 → 32, discover 5 → 8, punch request 9 → 16).
 */
export type AmplificationPolicy = 'strict' | 'compatible';

/**
 * A peer beacon. With `key` (shared with that peer, at least 16 bytes) the sync sent to it carries an
 * HMAC tail and the sync from it must carry a valid, fresh one (sync-auth.ts); without a key (a
 * reference beacon) its sync is accepted by source address, which can be spoofed.
 */
export type BeaconPeer = UdpAddress & { readonly key?: Uint8Array };

export interface RateOptions {
  readonly perSecond: number;
  readonly burst: number;
}

export interface BeaconOptions {
  /** Address to bind. Default '0.0.0.0' (or '::' for udp6). */
  readonly host?: string;
  /** Port to bind; 0 picks one. Default 9001. */
  readonly port?: number;
  readonly type?: 'udp4' | 'udp6';
  /** This beacon's ID in sync messages. Default 0. */
  readonly beaconId?: number;
  /** Peer beacons (IP literals): sync is sent to and accepted from these only. */
  readonly peers?: readonly BeaconPeer[];
  /** Accepted distance between an authenticated sync's clock and ours. Default 60 s. */
  readonly syncWindowMs?: number;
  /** Sync period in ms. Default 10 s. */
  readonly syncIntervalMs?: number;
  /** How long a recorded node endpoint lives without a refresh. Default 10 min. */
  readonly nodeTtlMs?: number;
  /** Node table bound; new nodes beyond it are not recorded. Default 100 000. */
  readonly maxNodes?: number;
  /** How often expired entries are reaped. Default 60 s. */
  readonly reapIntervalMs?: number;
  /** Default 'strict'. */
  readonly amplification?: AmplificationPolicy;
  /** Excess-byte budget of the compatible policy. Default 16 384 bytes/s. */
  readonly excessBytesPerSecond?: number;
  /** Non-relay datagrams per source IP. Default 20/s, burst 40. */
  readonly sourceRate?: RateOptions;
  /** Non-relay datagrams overall. Default 20 000/s, burst 40 000. */
  readonly globalRate?: RateOptions;
  /** Relayed datagrams per sending node. Default 2 000/s, burst 4 000. */
  readonly relayPacketRate?: RateOptions;
  /** Relayed bytes per sending node. Default 1 MiB/s, burst 2 MiB. */
  readonly relayByteRate?: RateOptions;
  /** Relayed datagrams per source IP (peer beacons included). Default 4 000/s, burst 8 000. */
  readonly relaySourcePacketRate?: RateOptions;
  /** Relayed bytes per source IP (peer beacons included). Default 4 MiB/s, burst 8 MiB. */
  readonly relaySourceByteRate?: RateOptions;
  /** Relayed datagrams overall. Default 50 000/s, burst 100 000. */
  readonly relayGlobalPacketRate?: RateOptions;
  /** Relayed bytes overall. Default 64 MiB/s, burst 128 MiB. */
  readonly relayGlobalByteRate?: RateOptions;
  /** Punch commands sent because of requests naming one target node. Default 2/s, burst 4. */
  readonly punchTargetRate?: RateOptions;
  /** Punch requests acted on per requester node. Default 2/s, burst 4. */
  readonly punchRequesterRate?: RateOptions;
  /**
   * The registry's Ed25519 key of a node, for discover proofs (discover-proof.ts). Without it every
   * claim is unproven, and a recorded endpoint moves only as `unprovenMoveAfterMs` allows.
   */
  readonly nodeKey?: (node: number) => Uint8Array | undefined;
  /** Accepted distance between a proof's timestamp and the clock. Default 60 s. */
  readonly proofWindowMs?: number;
  /** Discover proofs checked (Ed25519 verifications). Default 2 000/s, burst 4 000. */
  readonly proofCheckRate?: RateOptions;
  /**
   * An unproven claim (a discover without proof, a punch request) moves a node recorded elsewhere
   * only once that endpoint has been silent this long; a node recorded with a proof moves only with
   * a proof. Default 90 s (the reference re-discovers every 60 s).
   */
  readonly unprovenMoveAfterMs?: number;
  /** Bound of the per-source and per-node limiter tables. Default 65 536. */
  readonly maxTrackedSources?: number;
  /** SOFTWARE sent in STUN answers when it fits the budget; '' for none. Default 'pilot-ts beacon'. */
  readonly software?: string;
  /** Clock in ms (tests). Default Date.now. */
  readonly now?: () => number;
}

/** Counters, for metrics and tests. Every datagram received ends in exactly one handled or dropped counter. */
export interface BeaconStats {
  received: number;
  discover: number;
  discoverReplies: number;
  /** Punch requests acted on (those naming an unknown node count in droppedUnknownNode). */
  punchRequests: number;
  punchCommands: number;
  relayDelivered: number;
  relayForwarded: number;
  /** Relayed frames handed to a node's TLS relay connection (`setTlsSink`). */
  relayDeliveredTls: number;
  /** Relay messages that came over a TLS relay connection (`relayFromTls`). */
  relayFromTls: number;
  /** Frame bytes relayed (delivered or forwarded to a peer beacon), for the operator's metrics. */
  relayBytes: number;
  syncReceived: number;
  syncSent: number;
  stunRequests: number;
  stunResponses: number;
  /** Datagrams that were neither beacon messages nor STUN, or did not decode, or went the wrong way. */
  droppedGarbage: number;
  /** Relay from a node whose recorded endpoint is not the datagram's source. */
  droppedSpoofed: number;
  /** Punch or relay naming a node the beacon does not know. */
  droppedUnknownNode: number;
  /** Sync from an address that is not a configured peer. */
  droppedUnknownPeer: number;
  /**
   * Sync from a keyed peer's address without a valid authentication tail: missing, wrong tag, stale,
   * replayed, or our own sync reflected back.
   */
  droppedBadSync: number;
  /** Sync accepted from a peer configured without a key (by source address only). */
  syncUnauthenticated: number;
  /** Over the per-source or global rate. */
  droppedRateLimited: number;
  /** Over a node's relay packet or byte rate. */
  droppedRelayLimited: number;
  /** Replies not sent because they would be larger than the request. */
  droppedAmplification: number;
  /** New nodes not recorded because the table is full. */
  droppedTableFull: number;
  /** Relayed datagrams over a source IP's or the global relay rate. */
  droppedRelaySourceLimited: number;
  /** Punch requests over the target's or the requester's punch rate. */
  droppedPunchLimited: number;
  /** Discover or punch claims that would have moved a node's endpoint without proving the node's identity. */
  droppedUnproven: number;
  /** Discover proofs that did not verify, were stale or replayed, or were over the check rate. */
  droppedBadProof: number;
  /** Discover proofs accepted. */
  provenDiscovers: number;
  /** STUN messages the beacon does not answer (indications, responses, change requests). */
  droppedStunUnsupported: number;
}

interface NodeEntry {
  endpoint: UdpAddress;
  expires: number;
  /** When its endpoint last spoke (a discover or punch request from it). */
  heard: number;
  /** The endpoint was recorded with a proof: only another proof moves it. */
  proven: boolean;
  /** Timestamp of the last accepted proof: a proof must be newer (no replay). */
  proofTs: number;
}

/**
 * Hands a relayed frame to a node connected over the TLS relay (wss/relay-server.ts): false when
 * it could not take it (its connection's queue is full), which counts as a relay drop.
 */
export type TlsRelaySink = (source: number, frame: Uint8Array) => boolean;

/** How a claim about a node's endpoint came. */
type Claim = { readonly proof?: DiscoverProof };

interface RemoteEntry {
  readonly beacon: UdpAddress;
  expires: number;
}

const SYNC_CHUNK = 8192;

function freshStats(): BeaconStats {
  return {
    received: 0,
    discover: 0,
    discoverReplies: 0,
    punchRequests: 0,
    punchCommands: 0,
    relayDelivered: 0,
    relayDeliveredTls: 0,
    relayFromTls: 0,
    relayBytes: 0,
    relayForwarded: 0,
    syncReceived: 0,
    syncSent: 0,
    stunRequests: 0,
    stunResponses: 0,
    droppedGarbage: 0,
    droppedSpoofed: 0,
    droppedUnknownNode: 0,
    droppedUnknownPeer: 0,
    droppedBadSync: 0,
    syncUnauthenticated: 0,
    droppedRateLimited: 0,
    droppedRelayLimited: 0,
    droppedAmplification: 0,
    droppedTableFull: 0,
    droppedStunUnsupported: 0,
    droppedRelaySourceLimited: 0,
    droppedPunchLimited: 0,
    droppedUnproven: 0,
    droppedBadProof: 0,
    provenDiscovers: 0,
  };
}

/**
 * The beacon: one UDP socket that answers discover, punch, relay and sync (spec §4) and STUN
 * Binding requests (RFC 8489, and RFC 3489 classic ones with MAPPED-ADDRESS). Start it with
 * `Beacon.start(options)`; `close()` releases the socket and every timer.
 */
export class Beacon {
  readonly #socket: Socket;
  readonly #options: BeaconOptions;
  readonly #now: () => number;
  readonly #nodes = new Map<number, NodeEntry>();
  readonly #remote = new Map<number, RemoteEntry>();
  readonly #stats: BeaconStats = freshStats();
  readonly #sourceLimiter: KeyedLimiter<string>;
  readonly #relayPackets: KeyedLimiter<number>;
  readonly #relayBytes: KeyedLimiter<number>;
  readonly #global: TokenBucket;
  readonly #excess: TokenBucket;
  readonly #relaySourcePackets: KeyedLimiter<string>;
  readonly #relaySourceBytes: KeyedLimiter<string>;
  readonly #relayGlobalPackets: TokenBucket;
  readonly #relayGlobalBytes: TokenBucket;
  readonly #punchTargets: KeyedLimiter<number>;
  readonly #punchRequesters: KeyedLimiter<number>;
  readonly #proofChecks: TokenBucket;
  readonly #software: StunAttribute | undefined;
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #address: UdpAddress;
  /** This beacon's ID in sync tails (reflection check) and the sequence of the tails it sends. */
  readonly #syncInstance = newSyncInstance();
  readonly #syncSequence = new SyncSequence();
  /** Per keyed peer (by address): the sequences already accepted. */
  readonly #syncWindows = new Map<string, ReplayWindow>();
  #closed: Promise<void> | undefined;
  #tlsSink: ((node: number) => TlsRelaySink | undefined) | undefined;

  private constructor(socket: Socket, options: BeaconOptions) {
    this.#socket = socket;
    this.#options = options;
    const bound = socket.address();
    this.#address = { address: bound.address, port: bound.port };
    this.#now = options.now ?? Date.now;
    const now = this.#now();
    const maxTracked = options.maxTrackedSources ?? 65_536;
    const source = options.sourceRate ?? { perSecond: 20, burst: 40 };
    const global = options.globalRate ?? { perSecond: 20_000, burst: 40_000 };
    const packets = options.relayPacketRate ?? { perSecond: 2000, burst: 4000 };
    const bytes = options.relayByteRate ?? { perSecond: 1 << 20, burst: 2 << 20 };
    this.#sourceLimiter = new KeyedLimiter(source.perSecond, source.burst, maxTracked);
    this.#relayPackets = new KeyedLimiter(packets.perSecond, packets.burst, maxTracked);
    this.#relayBytes = new KeyedLimiter(bytes.perSecond, bytes.burst, maxTracked);
    this.#global = new TokenBucket(global.perSecond, global.burst, now);
    const rate = (given: RateOptions | undefined, perSecond: number, burst: number): RateOptions =>
      given ?? { perSecond, burst };
    const sourcePackets = rate(options.relaySourcePacketRate, 4000, 8000);
    const sourceBytes = rate(options.relaySourceByteRate, 4 << 20, 8 << 20);
    const globalPackets = rate(options.relayGlobalPacketRate, 50_000, 100_000);
    const globalBytes = rate(options.relayGlobalByteRate, 64 << 20, 128 << 20);
    const punchTarget = rate(options.punchTargetRate, 2, 4);
    const punchRequester = rate(options.punchRequesterRate, 2, 4);
    const proofChecks = rate(options.proofCheckRate, 2000, 4000);
    this.#relaySourcePackets = new KeyedLimiter(sourcePackets.perSecond, sourcePackets.burst, maxTracked);
    this.#relaySourceBytes = new KeyedLimiter(sourceBytes.perSecond, sourceBytes.burst, maxTracked);
    this.#relayGlobalPackets = new TokenBucket(globalPackets.perSecond, globalPackets.burst, now);
    this.#relayGlobalBytes = new TokenBucket(globalBytes.perSecond, globalBytes.burst, now);
    this.#punchTargets = new KeyedLimiter(punchTarget.perSecond, punchTarget.burst, maxTracked);
    this.#punchRequesters = new KeyedLimiter(punchRequester.perSecond, punchRequester.burst, maxTracked);
    this.#proofChecks = new TokenBucket(proofChecks.perSecond, proofChecks.burst, now);
    const excess = options.excessBytesPerSecond ?? 16_384;
    this.#excess = new TokenBucket(excess, excess, now);
    const software = options.software ?? 'pilot-ts beacon';
    this.#software = software === '' ? undefined : softwareAttribute(software);
  }

  /** Binds the socket and starts the reaper and (with peers) the sync timer. */
  static async start(options: BeaconOptions = {}): Promise<Beacon> {
    // Checked before binding: a refused configuration leaves no socket behind.
    for (const peer of options.peers ?? []) {
      checkUdpAddress(peer);
      if (peer.key !== undefined && peer.key.length < SYNC_KEY_MIN_SIZE)
        throw new RangeError(
          `peer beacon ${peer.address}:${peer.port}: sync key must be at least ${SYNC_KEY_MIN_SIZE} bytes`,
        );
    }
    const type = options.type ?? 'udp4';
    const socket = createSocket({ type, reuseAddr: false });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(options.port ?? 9001, options.host ?? (type === 'udp6' ? '::' : '0.0.0.0'), () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const beacon = new Beacon(socket, options);
    beacon.#run();
    return beacon;
  }

  #run(): void {
    this.#socket.on('message', (message, from) => {
      this.#receive(new Uint8Array(message.buffer, message.byteOffset, message.length), from);
    });
    // ICMP errors surface as socket errors on some platforms: a lost reply, not a beacon failure.
    this.#socket.on('error', () => {});
    this.#timers.push(setInterval(() => this.#reap(), this.#options.reapIntervalMs ?? 60_000));
    if ((this.#options.peers ?? []).length > 0) {
      this.#timers.push(setInterval(() => this.#sendSync(), this.#options.syncIntervalMs ?? 10_000));
    }
  }

  /** The bound address. */
  address(): UdpAddress {
    return this.#address;
  }

  /** A copy of the counters. */
  stats(): BeaconStats {
    return { ...this.#stats };
  }

  /** Where a node was last seen, if it is recorded and not expired. */
  lookup(node: number): UdpAddress | undefined {
    const entry = this.#nodes.get(node);
    return entry !== undefined && entry.expires > this.#now() ? entry.endpoint : undefined;
  }

  /** The peer beacon a node was last synced from, if it is recorded and not expired. */
  lookupRemote(node: number): UdpAddress | undefined {
    const entry = this.#remote.get(node);
    return entry !== undefined && entry.expires > this.#now() ? entry.beacon : undefined;
  }

  /** Number of recorded nodes (expired ones included until the next reap). */
  get nodeCount(): number {
    return this.#nodes.size;
  }

  /**
   * Where the TLS relay keeps its connected nodes: a frame relayed to one of them goes down its TLS
   * connection (the node chose that path; its UDP endpoint, if any, is not answering).
   */
  setTlsSink(lookup: ((node: number) => TlsRelaySink | undefined) | undefined): void {
    this.#tlsSink = lookup;
  }

  /**
   * A beacon `relay` message that came over the TLS relay connection of node `message.source`
   * (authenticated by the relay server), from source IP `ip`: the same relay budgets as a UDP one
   * (global, per IP, per node), then delivered over the destination's TLS connection, its UDP
   * endpoint, or its peer beacon.
   */
  relayFromTls(message: Extract<BeaconMessage, { type: 'relay' }>, bytes: Uint8Array, ip: string): void {
    const now = this.#now();
    const stats = this.#stats;
    stats.received++;
    stats.relayFromTls++;
    if (!this.#takeSourceRelayBudget(ip, bytes.length, now)) return;
    if (!this.#takeNodeRelayBudget(message.source, bytes.length, now)) return;
    this.#deliver(message, bytes, false, now);
  }

  /** Stops timers and closes the socket; safe to call twice. */
  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      for (const timer of this.#timers) clearInterval(timer);
      this.#timers.length = 0;
      this.#socket.close(() => resolve());
    });
    return this.#closed;
  }

  #receive(bytes: Uint8Array, from: RemoteInfo): void {
    const stats = this.#stats;
    stats.received++;
    const now = this.#now();
    const first = bytes[0];
    const isStun = isStunMessage(bytes, { classic: first === 0x00 });
    const isRelay = !isStun && (first === 0x05 || first === 0x06);
    if (!isRelay) {
      if (!this.#global.take(1, now) || !this.#sourceLimiter.take(from.address, 1, now)) {
        stats.droppedRateLimited++;
        return;
      }
    }
    if (isStun) {
      this.#stun(bytes, from);
      return;
    }
    let message: BeaconMessage;
    let proof: DiscoverProof | undefined;
    let syncAuth: { readonly auth: SyncAuth; readonly signed: Uint8Array } | undefined;
    try {
      ({ message, proof, syncAuth } = decodeBeaconRequest(bytes));
    } catch (error) {
      if (!isPilotError(error)) throw error;
      stats.droppedGarbage++;
      return;
    }
    const source: UdpAddress = { address: from.address, port: from.port };
    switch (message.type) {
      case 'discover':
        this.#discover(message.node, source, bytes.length, now, proof === undefined ? {} : { proof });
        return;
      case 'punchRequest':
        this.#punch(message.requester, message.target, source, bytes.length, now);
        return;
      case 'relay':
        this.#relay(message, bytes, source, now);
        return;
      case 'sync':
        this.#sync(message.nodes, source, now, syncAuth);
        return;
      default:
        // Replies, commands and deliveries only travel from a beacon to a node.
        stats.droppedGarbage++;
    }
  }

  /** Bytes the beacon may send for a request of `size` whose smallest useful answer is `needed`. */
  #budget(size: number, needed: number): number {
    if (needed <= size) return size;
    if (this.#options.amplification === 'compatible' && this.#excess.take(needed - size, this.#now()))
      return needed;
    return size;
  }

  #send(bytes: Uint8Array, to: UdpAddress): void {
    this.#socket.send(bytes, to.port, sendAddress(to, this.#options.type ?? 'udp4'), () => {});
  }

  /**
   * Records that `node` is at `endpoint`. The reference believes the latest claim; here a claim that
   * would move a node recorded elsewhere must prove the node's identity, or (for nodes that never
   * proved it, such as reference daemons) come after the recorded endpoint has been silent for
   * `unprovenMoveAfterMs`: a spoofed discover cannot redirect or black-hole a live node's relay.
   */
  #record(node: number, endpoint: UdpAddress, now: number, claim: Claim): boolean {
    const stats = this.#stats;
    const expires = now + (this.#options.nodeTtlMs ?? 600_000);
    const entry = this.#nodes.get(node);
    const live = entry !== undefined && entry.expires > now;
    const same = entry !== undefined && sameUdpAddress(entry.endpoint, endpoint);
    // Checked only when it matters (a new or moving node, or an upgrade to proven): a flood of
    // proofs for an unchanged endpoint costs no signature checks. A proof that fails is an
    // unproven claim, so a node whose clock is off is still served as a reference node is.
    const proven =
      claim.proof !== undefined &&
      !(live && same && entry.proven) &&
      this.#checkProof(node, claim.proof, entry, now);
    if (entry !== undefined && same) {
      entry.expires = expires;
      entry.heard = now;
      if (proven) {
        entry.proven = true;
        entry.proofTs = claim.proof?.timestampMs ?? entry.proofTs;
      }
      return true;
    }
    if (entry !== undefined && live && !proven) {
      const silentFor = now - entry.heard;
      if (entry.proven || silentFor < (this.#options.unprovenMoveAfterMs ?? 90_000)) {
        stats.droppedUnproven++;
        return false;
      }
    }
    if (entry === undefined && this.#nodes.size >= (this.#options.maxNodes ?? 100_000)) {
      this.#reap();
      if (this.#nodes.size >= (this.#options.maxNodes ?? 100_000)) {
        stats.droppedTableFull++;
        return false;
      }
    }
    if (proven) stats.provenDiscovers++;
    this.#nodes.set(node, {
      endpoint,
      expires,
      heard: now,
      proven,
      proofTs: proven ? (claim.proof?.timestampMs ?? 0) : (entry?.proofTs ?? 0),
    });
    return true;
  }

  #checkProof(node: number, proof: DiscoverProof, entry: NodeEntry | undefined, now: number): boolean {
    const stats = this.#stats;
    const window = this.#options.proofWindowMs ?? 60_000;
    // A beacon without the registry's keys cannot tell: the proof is padding to it.
    if (this.#options.nodeKey === undefined) return false;
    if (
      Math.abs(proof.timestampMs - now) > window ||
      (entry !== undefined && proof.timestampMs <= entry.proofTs) ||
      !this.#proofChecks.take(1, now)
    ) {
      stats.droppedBadProof++;
      return false;
    }
    const key = this.#options.nodeKey(node);
    if (key === undefined) return false;
    if (!checkDiscoverProof(node, proof, key)) {
      stats.droppedBadProof++;
      return false;
    }
    return true;
  }

  #discover(node: number, source: UdpAddress, size: number, now: number, claim: Claim): void {
    this.#stats.discover++;
    // The reply tells the source where it is seen, whether or not the claim was believed.
    if (node !== 0) this.#record(node, source, now, claim);
    const reply = encodeBeaconMessage({ type: 'discoverReply', endpoint: toIpEndpoint(source) });
    if (reply.length > this.#budget(size, reply.length)) {
      this.#stats.droppedAmplification++;
      return;
    }
    this.#send(reply, source);
    this.#stats.discoverReplies++;
  }

  #punch(requester: number, target: number, source: UdpAddress, size: number, now: number): void {
    const stats = this.#stats;
    const peer = this.lookup(target);
    if (requester === 0 || requester === target || peer === undefined) {
      stats.droppedUnknownNode++;
      return;
    }
    // A requester recorded elsewhere (and not silent) is not this source: a spoofed request that
    // would send the target's punches, and the target's endpoint, to a third party.
    if (!this.#record(requester, source, now, {})) return;
    if (!this.#punchTargets.take(target, 1, now) || !this.#punchRequesters.take(requester, 1, now)) {
      stats.droppedPunchLimited++;
      return;
    }
    stats.punchRequests++;
    const toTarget = encodeBeaconMessage({ type: 'punchCommand', endpoint: toIpEndpoint(source) });
    const toRequester = encodeBeaconMessage({ type: 'punchCommand', endpoint: toIpEndpoint(peer) });
    let budget = this.#budget(size, toTarget.length + toRequester.length);
    // The target's command first: a reference requester already sends to the registry's address
    // for the target, so the target opening its side matters most.
    for (const [bytes, to] of [
      [toTarget, peer],
      [toRequester, source],
    ] as const) {
      if (bytes.length > budget) {
        stats.droppedAmplification++;
        continue;
      }
      budget -= bytes.length;
      this.#send(bytes, to);
      stats.punchCommands++;
    }
  }

  #relay(
    message: Extract<BeaconMessage, { type: 'relay' }>,
    bytes: Uint8Array,
    source: UdpAddress,
    now: number,
  ): void {
    const stats = this.#stats;
    const fromPeer = (this.#options.peers ?? []).some((peer) => sameUdpAddress(peer, source));
    // Source addresses can be spoofed, so what comes from a peer beacon's address is bounded like
    // anything else: per source IP and overall, before the per-node limits.
    if (!this.#takeSourceRelayBudget(source.address, bytes.length, now)) return;
    // A node behind a peer beacon is not ours to check the address of; its own rates still apply.
    if (!fromPeer) {
      const sender = this.lookup(message.source);
      if (sender === undefined || !sameUdpAddress(sender, source)) {
        stats.droppedSpoofed++;
        return;
      }
    }
    if (!this.#takeNodeRelayBudget(message.source, bytes.length, now)) return;
    this.#deliver(message, bytes, fromPeer, now);
  }

  /** The relay's overall and per-source-IP budgets (every relayed frame, whatever carried it). */
  #takeSourceRelayBudget(ip: string, length: number, now: number): boolean {
    if (
      this.#relayGlobalPackets.take(1, now) &&
      this.#relayGlobalBytes.take(length, now) &&
      this.#relaySourcePackets.take(ip, 1, now) &&
      this.#relaySourceBytes.take(ip, length, now)
    )
      return true;
    this.#stats.droppedRelaySourceLimited++;
    return false;
  }

  /** The sending node's own relay budget. */
  #takeNodeRelayBudget(node: number, length: number, now: number): boolean {
    if (this.#relayPackets.take(node, 1, now) && this.#relayBytes.take(node, length, now)) return true;
    this.#stats.droppedRelayLimited++;
    return false;
  }

  /** Where a relayed frame whose sender passed the budgets goes. */
  #deliver(
    message: Extract<BeaconMessage, { type: 'relay' }>,
    bytes: Uint8Array,
    fromPeer: boolean,
    now: number,
  ): void {
    const stats = this.#stats;
    if (message.destination === message.source) {
      stats.droppedGarbage++;
      return;
    }
    const sink = this.#tlsSink?.(message.destination);
    if (sink !== undefined) {
      if (sink(message.source, message.frame)) {
        stats.relayDeliveredTls++;
        stats.relayBytes += message.frame.length;
      } else {
        stats.droppedRelayLimited++;
      }
      return;
    }
    const local = this.lookup(message.destination);
    if (local !== undefined) {
      // 5 + frame bytes out for 9 + frame bytes in: never larger than the request.
      this.#send(
        encodeBeaconMessage({ type: 'relayDeliver', source: message.source, frame: message.frame }),
        local,
      );
      stats.relayDelivered++;
      stats.relayBytes += message.frame.length;
      return;
    }
    const remote = fromPeer ? undefined : this.#remote.get(message.destination);
    if (remote !== undefined && remote.expires > now) {
      this.#send(bytes, remote.beacon);
      stats.relayForwarded++;
      stats.relayBytes += message.frame.length;
      return;
    }
    stats.droppedUnknownNode++;
  }

  #sync(
    nodes: readonly number[],
    source: UdpAddress,
    now: number,
    syncAuth: { readonly auth: SyncAuth; readonly signed: Uint8Array } | undefined,
  ): void {
    const peer = (this.#options.peers ?? []).find((candidate) => sameUdpAddress(candidate, source));
    if (peer === undefined) {
      this.#stats.droppedUnknownPeer++;
      return;
    }
    if (peer.key === undefined) this.#stats.syncUnauthenticated++;
    else if (!this.#syncAuthentic(peer, peer.key, syncAuth, now)) {
      this.#stats.droppedBadSync++;
      return;
    }
    this.#stats.syncReceived++;
    const expires = now + 3 * (this.#options.syncIntervalMs ?? 10_000);
    const max = this.#options.maxNodes ?? 100_000;
    for (const node of nodes) {
      const entry = this.#remote.get(node);
      if (entry !== undefined && sameUdpAddress(entry.beacon, peer)) entry.expires = expires;
      else if (this.#remote.size < max || entry !== undefined)
        this.#remote.set(node, { beacon: peer, expires });
    }
  }

  /** Whether a keyed peer's sync carries a valid tail never accepted before; records it if so. */
  #syncAuthentic(
    peer: BeaconPeer,
    key: Uint8Array,
    syncAuth: { readonly auth: SyncAuth; readonly signed: Uint8Array } | undefined,
    now: number,
  ): boolean {
    if (syncAuth === undefined) return false;
    const { auth, signed } = syncAuth;
    // Our own datagram sent back to us: same key both ways, so the tag alone would pass.
    if (auth.instance.every((byte, i) => byte === this.#syncInstance[i])) return false;
    if (Math.abs(syncSequenceMs(auth.sequence) - now) > (this.#options.syncWindowMs ?? 60_000)) return false;
    const id = `${peer.address}|${peer.port}`;
    let window = this.#syncWindows.get(id);
    if (window?.check(auth.sequence) === false) return false;
    // The tag last: the cheap refusals above cost no HMAC, and the window is marked only after it.
    if (!checkSyncAuth(key, signed, auth)) return false;
    if (window === undefined) {
      window = new ReplayWindow();
      this.#syncWindows.set(id, window);
    }
    return window.mark(auth.sequence);
  }

  #sendSync(): void {
    const now = this.#now();
    const nodes: number[] = [];
    for (const [node, entry] of this.#nodes) if (entry.expires > now) nodes.push(node);
    const beaconId = this.#options.beaconId ?? 0;
    for (let i = 0; i === 0 || i < nodes.length; i += SYNC_CHUNK) {
      const bytes = encodeBeaconMessage({ type: 'sync', beaconId, nodes: nodes.slice(i, i + SYNC_CHUNK) });
      for (const peer of this.#options.peers ?? []) {
        if (peer.key === undefined) this.#send(bytes, peer);
        else {
          const sequence = this.#syncSequence.next(now);
          const tail = encodeSyncAuth(peer.key, bytes, this.#syncInstance, sequence);
          const signed = new Uint8Array(bytes.length + tail.length);
          signed.set(bytes);
          signed.set(tail, bytes.length);
          this.#send(signed, peer);
        }
        this.#stats.syncSent++;
      }
    }
  }

  #reap(): void {
    const now = this.#now();
    for (const [node, entry] of this.#nodes) if (entry.expires <= now) this.#nodes.delete(node);
    for (const [node, entry] of this.#remote) if (entry.expires <= now) this.#remote.delete(node);
  }

  #stun(bytes: Uint8Array, from: RemoteInfo): void {
    const stats = this.#stats;
    let request: StunMessage;
    try {
      request = decodeStunMessage(bytes, { classic: true });
    } catch (error) {
      if (!isPilotError(error)) throw error;
      stats.droppedGarbage++;
      return;
    }
    if (request.messageClass !== StunClass.REQUEST || request.method !== StunMethod.BINDING) {
      stats.droppedStunUnsupported++;
      return;
    }
    const change = request.attributes.find(
      (attribute) => attribute.type === StunAttributeType.CHANGE_REQUEST,
    );
    if (change?.value.some((byte) => byte !== 0)) {
      // One address, one port: answering from the same place would mislead an RFC 3489/5780 test.
      stats.droppedStunUnsupported++;
      return;
    }
    stats.stunRequests++;
    const source: UdpAddress = { address: from.address, port: from.port };
    const response = this.#stunResponse(request, source, bytes.length);
    if (response === undefined) {
      stats.droppedAmplification++;
      return;
    }
    this.#send(response, source);
    stats.stunResponses++;
  }

  #stunResponse(request: StunMessage, source: UdpAddress, size: number): Uint8Array | undefined {
    const endpoint = toIpEndpoint(source);
    const { transactionId } = request;
    let messageClass: StunClass = StunClass.SUCCESS;
    const required: StunAttribute[] = [];
    if (request.unknownRequired.length > 0) {
      messageClass = StunClass.ERROR;
      required.push(
        errorCodeAttribute(420, 'Unknown Attribute'),
        unknownAttributesAttribute(request.unknownRequired),
      );
    } else if (request.classic) {
      required.push(mappedAddressAttribute(endpoint));
    } else {
      required.push(xorMappedAddressAttribute(endpoint, transactionId));
    }
    let length = STUN_HEADER_SIZE;
    for (const attribute of required) length += stunAttributeSize(attribute);
    const budget = this.#budget(size, length);
    if (length > budget) return undefined;
    // Optional extras only when they still fit the budget: FINGERPRINT if asked, then SOFTWARE.
    const fingerprint = request.fingerprint && length + 8 <= budget;
    if (fingerprint) length += 8;
    const attributes = [...required];
    if (
      this.#software !== undefined &&
      !request.classic &&
      length + stunAttributeSize(this.#software) <= budget
    ) {
      attributes.push(this.#software);
    }
    return encodeStunMessage({
      method: StunMethod.BINDING,
      messageClass,
      transactionId,
      attributes,
      fingerprint,
    });
  }
}
