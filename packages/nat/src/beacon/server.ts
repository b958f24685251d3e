import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { type BeaconMessage, encodeBeaconMessage, isPilotError } from '@pilot/wire';
import { decodeBeaconRequest } from '../beacon-request.js';
import { KeyedLimiter, TokenBucket } from '../rate-limit.js';
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
  checkUdpAddress,
  sameUdpAddress,
  sendAddress,
  toIpEndpoint,
  type UdpAddress,
} from '../udp-address.js';

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
  readonly peers?: readonly UdpAddress[];
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
  /** Over the per-source or global rate. */
  droppedRateLimited: number;
  /** Over a node's relay packet or byte rate. */
  droppedRelayLimited: number;
  /** Replies not sent because they would be larger than the request. */
  droppedAmplification: number;
  /** New nodes not recorded because the table is full. */
  droppedTableFull: number;
  /** STUN messages the beacon does not answer (indications, responses, change requests). */
  droppedStunUnsupported: number;
}

interface NodeEntry {
  readonly endpoint: UdpAddress;
  expires: number;
}

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
    droppedRateLimited: 0,
    droppedRelayLimited: 0,
    droppedAmplification: 0,
    droppedTableFull: 0,
    droppedStunUnsupported: 0,
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
  readonly #software: StunAttribute | undefined;
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #address: UdpAddress;
  #closed: Promise<void> | undefined;

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
    const excess = options.excessBytesPerSecond ?? 16_384;
    this.#excess = new TokenBucket(excess, excess, now);
    const software = options.software ?? 'pilot-ts beacon';
    this.#software = software === '' ? undefined : softwareAttribute(software);
    for (const peer of options.peers ?? []) checkUdpAddress(peer);
  }

  /** Binds the socket and starts the reaper and (with peers) the sync timer. */
  static async start(options: BeaconOptions = {}): Promise<Beacon> {
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

  /** Number of recorded nodes (expired ones included until the next reap). */
  get nodeCount(): number {
    return this.#nodes.size;
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
    try {
      message = decodeBeaconRequest(bytes).message;
    } catch (error) {
      if (!isPilotError(error)) throw error;
      stats.droppedGarbage++;
      return;
    }
    const source: UdpAddress = { address: from.address, port: from.port };
    switch (message.type) {
      case 'discover':
        this.#discover(message.node, source, bytes.length, now);
        return;
      case 'punchRequest':
        this.#punch(message.requester, message.target, source, bytes.length, now);
        return;
      case 'relay':
        this.#relay(message, bytes, source, now);
        return;
      case 'sync':
        this.#sync(message.nodes, source, now);
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

  #record(node: number, endpoint: UdpAddress, now: number): boolean {
    const expires = now + (this.#options.nodeTtlMs ?? 600_000);
    const entry = this.#nodes.get(node);
    if (entry !== undefined && sameUdpAddress(entry.endpoint, endpoint)) {
      entry.expires = expires;
      return true;
    }
    if (entry === undefined && this.#nodes.size >= (this.#options.maxNodes ?? 100_000)) {
      this.#reap();
      if (this.#nodes.size >= (this.#options.maxNodes ?? 100_000)) {
        this.#stats.droppedTableFull++;
        return false;
      }
    }
    // Unauthenticated, as in the reference: the latest claim wins, so a node whose NAT mapping
    // changed is found again at its next discover.
    this.#nodes.set(node, { endpoint, expires });
    return true;
  }

  #discover(node: number, source: UdpAddress, size: number, now: number): void {
    this.#stats.discover++;
    if (node !== 0) this.#record(node, source, now);
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
    stats.punchRequests++;
    this.#record(requester, source, now);
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
    if (!fromPeer) {
      const sender = this.lookup(message.source);
      if (sender === undefined || !sameUdpAddress(sender, source)) {
        stats.droppedSpoofed++;
        return;
      }
      if (
        !this.#relayPackets.take(message.source, 1, now) ||
        !this.#relayBytes.take(message.source, bytes.length, now)
      ) {
        stats.droppedRelayLimited++;
        return;
      }
    }
    if (message.destination === message.source) {
      stats.droppedGarbage++;
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

  #sync(nodes: readonly number[], source: UdpAddress, now: number): void {
    const peer = (this.#options.peers ?? []).find((candidate) => sameUdpAddress(candidate, source));
    if (peer === undefined) {
      this.#stats.droppedUnknownPeer++;
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

  #sendSync(): void {
    const now = this.#now();
    const nodes: number[] = [];
    for (const [node, entry] of this.#nodes) if (entry.expires > now) nodes.push(node);
    const beaconId = this.#options.beaconId ?? 0;
    for (let i = 0; i === 0 || i < nodes.length; i += SYNC_CHUNK) {
      const bytes = encodeBeaconMessage({ type: 'sync', beaconId, nodes: nodes.slice(i, i + SYNC_CHUNK) });
      for (const peer of this.#options.peers ?? []) {
        this.#send(bytes, peer);
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
