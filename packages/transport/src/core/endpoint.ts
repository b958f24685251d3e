import { isPilotError, WireErrorCode } from '@pilot/wire';
import {
  DATAGRAM_QUEUE_LIMIT,
  EPHEMERAL_PORT_MAX,
  EPHEMERAL_PORT_MIN,
  TUNNEL_OVERHEAD,
} from '../constants.js';
import { TransportErrorCode, transportError } from '../errors.js';
import { PathMtuProber, type PathMtuStats } from '../path/path-mtu.js';
import { PathRttCache } from '../path/path-rtt.js';
import { encodeProbePayload, isProbePayload, PROBE_ANSWER_BYTES } from '../path/probe-packet.js';
import {
  type Address,
  decodePacket,
  encodePacket,
  encodePacketInto,
  type Packet,
  PacketFlag,
  PROTOCOL_VERSION,
  Protocol,
  packetSourceNode,
  seqAdd,
} from '../wire.js';
import { Connection, type ConnectionHost } from './connection.js';
import { ConnectionState } from './connection-state.js';
import { createCounters, type TransportCounters } from './counters.js';
import { DatagramWindow } from './datagram-window.js';
import type { TransportEvent } from './events.js';
import { type EndpointOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { SynLimiter } from './syn-limiter.js';
import { TokenBucket } from './token-bucket.js';

/** Largest datagram path MTU discovery tries: a UDP payload over IPv4 is at most 65,507 bytes. */
const MAX_DATAGRAM_CEILING = 65_507;

interface PathProbe {
  readonly peer: Address;
  readonly prober: PathMtuProber;
  /** Sequence number of the probe in flight (its answer carries it + 1). */
  probeSeq: number;
}

const NO_CHECKSUM = { checksum: false } as const;
const SKIP_CHECKSUM = { verifyChecksum: false } as const;

/** One packet to put on the wire, already encoded (34-byte header + payload). */
export interface Transmit {
  readonly destination: Address;
  readonly bytes: Uint8Array;
}

/**
 * Where `pollTo` hands what is ready to send: stream packets as `Packet`s, so the caller encodes
 * them where it wants (a reused buffer, a frame with room for its tunnel header), and packets the
 * endpoint encoded already (control replies, datagrams) as `Transmit`s.
 */
export interface TransmitSink {
  packet(packet: Packet): void;
  transmit(transmit: Transmit): void;
}

export interface ListenOptions {
  /** Established connections waiting for `accept` (default 64); beyond it new ones get RST. */
  readonly backlog?: number;
  /** Connections on this port, half-open included (default 1024). */
  readonly maxConnections?: number;
  /** Connections on this port from one source node, half-open included (default: maxConnections). */
  readonly maxConnectionsPerSource?: number;
  /**
   * Receive buffer of each connection accepted here, in segments, when smaller than the endpoint's:
   * a service for strangers (port 444) holds little per stream, out-of-order segments included.
   */
  readonly receiveWindowSegments?: number;
}

interface Listener {
  readonly port: number;
  readonly backlog: number;
  readonly maxConnections: number;
  readonly maxPerSource: number;
  readonly receiveWindowSegments: number | undefined;
  readonly queue: Connection[];
  /** Connections on this port per source node. */
  readonly perSource: Map<number, number>;
}

const RST_RATE = 200;
const DATAGRAM_PEERS = 4096;

export function addressKey(address: Address): string {
  return `${address.network}:${address.node}`;
}

function connectionKey(peer: Address, remotePort: number, localPort: number): string {
  return `${peer.network}:${peer.node}/${remotePort}/${localPort}`;
}

/**
 * The sans-IO transport of one node: it owns every connection, keyed by (peer address, remote
 * port, local port), the listeners and their accept queues, SYN admission and datagrams.
 * Feed it packets with `receive(bytes, now)`, drain `poll(now)` onto the wire, call `onTimeout(now)`
 * at `nextTimeout()`, and read `pollEvent()`. It never reads a clock, opens a socket or sets a timer.
 */
export class Endpoint {
  private resolved: ResolvedOptions;
  get options(): ResolvedOptions {
    return this.resolved;
  }
  readonly counters: TransportCounters = createCounters();
  private readonly connections = new Map<string, Connection>();
  private readonly listeners = new Map<number, Listener>();
  private readonly portCounts = new Map<number, number>();
  private active = new Set<Connection>();
  private control: Transmit[] = [];
  private datagrams: Transmit[] = [];
  private datagramHead = 0;
  private events: TransportEvent[] = [];
  private eventHead = 0;
  private readonly synLimiter: SynLimiter;
  private readonly admit: EndpointOptions['admit'];
  private rstLimiter: TokenBucket | undefined;
  private datagramCounter: number;
  private readonly datagramWindows = new Map<string, DatagramWindow>();
  private nextEphemeral: number;
  private closedFlag = false;
  private readonly host: ConnectionHost;
  /** The connection the last stream packet went to (never a CLOSED one: onClosed forgets it). */
  private lastConnection: Connection | undefined;
  /** Path MTU discovery, per peer node, only for the peers the caller enabled it for. */
  private readonly paths = new Map<number, PathProbe>();
  /** The RTT last measured to each peer: new connections' first timers (see PathRttCache). */
  private readonly pathRtt = new PathRttCache();
  private readonly probesDue = new Set<PathProbe>();
  /** Receive-buffer bytes held per peer node, across its connections (maxReceiveBytesPerPeer). */
  private readonly heldPerPeer = new Map<number, number>();
  /** Peer nodes whose link authenticates every packet both ways (see `setChecksumFree`). */
  private readonly checksumFree = new Set<number>();

  constructor(options: EndpointOptions) {
    this.resolved = resolveOptions(options);
    this.admit = options.admit;
    this.synLimiter = new SynLimiter({
      ...(this.options.synRateGlobal === undefined ? {} : { globalRate: this.options.synRateGlobal }),
      ...(this.options.synRatePerSource === undefined
        ? {}
        : { perSourceRate: this.options.synRatePerSource }),
    });
    this.datagramCounter = this.options.random() >>> 0 || 1;
    this.nextEphemeral =
      EPHEMERAL_PORT_MIN + (this.options.random() % (EPHEMERAL_PORT_MAX - EPHEMERAL_PORT_MIN + 1));
    this.host = {
      options: this.options,
      counters: this.counters,
      emit: (event) => this.events.push(event),
      wake: (connection) => this.active.add(connection),
      sendControl: (packet) => this.control.push({ destination: packet.dst, bytes: this.encode(packet) }),
      established: (connection) => this.onEstablished(connection),
      closed: (connection) => this.onClosed(connection),
      pathMss: (peer) => {
        const path = this.paths.get(peer.node);
        return path === undefined ? this.resolved.mss : path.prober.size - TUNNEL_OVERHEAD;
      },
      initialRto: (peer, now) => this.pathRtt.initialRto(peer.node, now),
      firstSynTimeout: (peer, now) => this.pathRtt.firstSynTimeout(peer.node, now),
      rttMeasured: (connection, now) => {
        const srtt = connection.rtt.srtt;
        if (srtt !== undefined)
          this.pathRtt.note(connection.peer.node, srtt, connection.rtt.rttVariance, now);
      },
      retransmissionTimeout: (connection) => {
        const path = this.paths.get(connection.peer.node);
        if (path === undefined) return;
        if (path.prober.onRetransmissionTimeout()) this.pathSizeChanged(path);
        if (path.prober.wantsProbe) this.probesDue.add(path);
      },
      ...(this.resolved.maxReceiveBytesPerPeer === Number.POSITIVE_INFINITY
        ? {}
        : {
            receiveHeld: (connection: Connection, delta: number) => {
              const node = connection.peer.node;
              const held = (this.heldPerPeer.get(node) ?? 0) + delta;
              if (held <= 0) this.heldPerPeer.delete(node);
              else this.heldPerPeer.set(node, held);
            },
            receiveRoom: (peer: Address, bytes: number) =>
              (this.heldPerPeer.get(peer.node) ?? 0) + bytes <= this.resolved.maxReceiveBytesPerPeer,
          }),
    };
  }

  /** Receive-buffer bytes one peer node's connections hold now (0 without maxReceiveBytesPerPeer). */
  receiveHeldBy(node: number): number {
    return this.heldPerPeer.get(node) ?? 0;
  }

  // ---------------------------------------------------------------------------------------------
  // Packets without a CRC: only over a link that authenticates every byte (an AEAD), per peer.

  /**
   * Tells the endpoint that the link to a peer node seals every packet both ways with an AEAD and
   * that the peer agreed to drop the packet checksum inside it (the daemon's `aead-checksum-free`
   * tunnel capability): packets to it go with the checksum field zero, and packets from it that the
   * link hands up as authenticated (`receive(…, true)`) are not CRC-checked. Anything else from it
   * (a packet the link does not vouch for) is still verified. Off by default, for every peer.
   */
  setChecksumFree(peer: Address, enabled: boolean): void {
    if (enabled) this.checksumFree.add(peer.node);
    else this.checksumFree.delete(peer.node);
  }

  /** Whether packets to a node go without a checksum (`setChecksumFree`). */
  isChecksumFree(peer: Address): boolean {
    return this.checksumFree.size > 0 && this.checksumFree.has(peer.node);
  }

  /**
   * Encodes a packet `pollTo` handed to the sink into `target` at `offset` (a driver's reused
   * buffer), its CRC left out towards a checksum-free peer; returns the bytes written.
   */
  encodeInto(packet: Packet, target: Uint8Array, offset: number): number {
    return encodePacketInto(packet, target, offset, this.checksumOption(packet.dst));
  }

  /** A packet's wire bytes, its CRC left out towards a checksum-free peer. */
  private encode(packet: Packet): Uint8Array {
    return encodePacket(packet, this.checksumOption(packet.dst));
  }

  private checksumOption(peer: Address): typeof NO_CHECKSUM | undefined {
    if (!this.isChecksumFree(peer)) return undefined;
    this.counters.checksumsOmitted++;
    return NO_CHECKSUM;
  }

  // ---------------------------------------------------------------------------------------------
  // Path MTU discovery (RFC 8899): only between peers known to take larger datagrams.

  /**
   * Starts datagram path MTU discovery towards a peer node, up to `ceiling` bytes per datagram
   * (tunnel frame included). Until a probe of a larger size is answered, nothing changes: packets
   * keep `maxDatagramSize`. Call it only for peers that answer probes in kind (pilot-ts peers that
   * negotiated it); the caller picks the ceiling from what it knows of the path (loopback, LAN,
   * Internet). Calling it again with another ceiling restarts the search; a ceiling at or below
   * `maxDatagramSize` stops it.
   */
  probePathMtu(peer: Address, ceiling: number, options: { probeTimeout?: number } = {}): void {
    const base = this.resolved.mss + TUNNEL_OVERHEAD;
    const limit = Math.min(Math.floor(ceiling), MAX_DATAGRAM_CEILING);
    const existing = this.paths.get(peer.node);
    if (existing !== undefined && existing.prober.ceiling === Math.max(base, limit)) return;
    this.stopPathMtu(peer);
    if (!(limit > base)) return;
    const path: PathProbe = {
      peer,
      prober: new PathMtuProber({
        base,
        ceiling: limit,
        ...(options.probeTimeout === undefined ? {} : { probeTimeout: options.probeTimeout }),
      }),
      probeSeq: 0,
    };
    this.paths.set(peer.node, path);
    this.probesDue.add(path);
  }

  /** Stops path MTU discovery towards a node (its path moved, or it is gone): back to the base size. */
  stopPathMtu(peer: Address): void {
    const path = this.paths.get(peer.node);
    if (path === undefined) return;
    this.paths.delete(peer.node);
    this.probesDue.delete(path);
    if (path.prober.size !== this.resolved.mss + TUNNEL_OVERHEAD) this.applyMss(peer.node, this.resolved.mss);
  }

  /** The datagram size used towards a node now (tunnel frame included). */
  pathMtu(peer: Address): number {
    return this.paths.get(peer.node)?.prober.size ?? this.resolved.mss + TUNNEL_OVERHEAD;
  }

  /** Path MTU discovery's state towards a node, when it runs. */
  pathMtuInfo(
    peer: Address,
  ): { size: number; state: string; ceiling: number; stats: Readonly<PathMtuStats> } | undefined {
    const path = this.paths.get(peer.node);
    if (path === undefined) return undefined;
    const prober = path.prober;
    return { size: prober.size, state: prober.state, ceiling: prober.ceiling, stats: prober.stats };
  }

  private pathSizeChanged(path: PathProbe): void {
    this.applyMss(path.peer.node, path.prober.size - TUNNEL_OVERHEAD);
  }

  private applyMss(node: number, mss: number): void {
    for (const connection of this.connections.values())
      if (connection.peer.node === node) connection.setMss(mss);
  }

  private pollProbes(now: number, sink: TransmitSink, max: number): number {
    let count = 0;
    for (const path of this.probesDue) {
      if (count >= max) break;
      this.probesDue.delete(path);
      const size = path.prober.pollProbe(now);
      if (size === 0) continue;
      path.probeSeq = this.options.random() >>> 0;
      const packet: Packet = {
        version: PROTOCOL_VERSION,
        flags: 0,
        protocol: Protocol.CONTROL,
        src: this.options.localAddress,
        dst: path.peer,
        srcPort: 0,
        dstPort: 0,
        seq: path.probeSeq,
        ack: 0,
        window: 0,
        payload: encodeProbePayload(size - TUNNEL_OVERHEAD, size),
      };
      this.counters.pathProbesSent++;
      sink.transmit({ destination: path.peer, bytes: this.encode(packet) });
      count++;
    }
    return count;
  }

  /** An answer to a ping: ours if it answers the probe in flight to that node. */
  private onProbeAnswer(packet: Packet, now: number): void {
    const path = this.paths.get(packet.src.node);
    if (path === undefined || path.prober.probeSize === 0) return;
    if (packet.ack !== seqAdd(path.probeSeq, 1) || !isProbePayload(packet.payload)) return;
    if (path.prober.onProbeAnswered(path.prober.probeSize, now)) this.pathSizeChanged(path);
    if (path.prober.wantsProbe) this.probesDue.add(path);
  }

  get localAddress(): Address {
    return this.options.localAddress;
  }

  /**
   * Changes this node's address, for a daemon that binds its socket before the registry assigns
   * its node ID (or after a re-registration gives it another). Connections keep the address they
   * were made with.
   */
  setLocalAddress(address: Address): void {
    this.resolved = { ...this.resolved, localAddress: address };
  }

  /** Open connections (every state but CLOSED). */
  get connectionCount(): number {
    return this.connections.size;
  }

  connectionList(): Connection[] {
    return [...this.connections.values()];
  }

  // ---------------------------------------------------------------------------------------------
  // Application side

  /** Opens a stream to `peer:port`; the 'connected' event follows the handshake. */
  connect(peer: Address, port: number, now: number, options: { localPort?: number } = {}): Connection {
    this.assertOpen();
    checkPort(port, 'port');
    if (peer.node === this.options.localAddress.node && peer.network === this.options.localAddress.network) {
      // Self-dials loop forever through the tunnel layer (reference §14).
      throw transportError(TransportErrorCode.BAD_ARGUMENT, 'cannot dial our own address');
    }
    const localPort = options.localPort ?? this.ephemeralPort(peer, port);
    checkPort(localPort, 'localPort');
    const key = connectionKey(peer, port, localPort);
    if (this.connections.has(key))
      throw transportError(
        TransportErrorCode.PORT_IN_USE,
        `port ${localPort} already connected to that peer port`,
      );
    const connection = new Connection(
      this.host,
      { peer, localAddress: this.options.localAddress, localPort, remotePort: port },
      true,
      now,
    );
    this.connections.set(key, connection);
    this.active.add(connection);
    return connection;
  }

  listen(port: number, options: ListenOptions = {}): void {
    this.assertOpen();
    checkPort(port, 'port');
    if (this.listeners.has(port))
      throw transportError(TransportErrorCode.PORT_IN_USE, `port ${port} is already listening`);
    this.listeners.set(port, {
      port,
      backlog: options.backlog ?? this.options.acceptBacklog,
      maxConnections: options.maxConnections ?? this.options.maxConnectionsPerPort,
      maxPerSource:
        options.maxConnectionsPerSource ?? options.maxConnections ?? this.options.maxConnectionsPerPort,
      receiveWindowSegments: options.receiveWindowSegments,
      queue: [],
      perSource: new Map(),
    });
  }

  /** Stops listening; connections already accepted stay, queued ones are reset. */
  unlisten(port: number): void {
    const listener = this.listeners.get(port);
    if (listener === undefined) return;
    this.listeners.delete(port);
    for (const connection of listener.queue) connection.abort();
  }

  /** The next established inbound connection on `port`, if any. */
  accept(port: number): Connection | undefined {
    return this.listeners.get(port)?.queue.shift();
  }

  /**
   * Queues a datagram (protocol 0x02). It goes out ahead of stream data, so stream
   * retransmissions never delay it. Without `srcPort`, a fresh ephemeral port is used, as the
   * reference does.
   */
  sendDatagram(peer: Address, dstPort: number, payload: Uint8Array, srcPort?: number): void {
    this.assertOpen();
    checkPort(dstPort, 'dstPort');
    if (payload.length === 0 || payload.length > this.options.mss) {
      throw transportError(
        TransportErrorCode.BAD_ARGUMENT,
        `datagram payload must be 1..${this.options.mss} bytes`,
      );
    }
    const port =
      srcPort ?? EPHEMERAL_PORT_MIN + (this.options.random() % (EPHEMERAL_PORT_MAX - EPHEMERAL_PORT_MIN + 1));
    checkPort(port, 'srcPort');
    this.datagramCounter = seqAdd(this.datagramCounter, 1) || 1;
    const packet: Packet = {
      version: PROTOCOL_VERSION,
      flags: 0,
      protocol: Protocol.DATAGRAM,
      src: this.options.localAddress,
      dst: peer,
      srcPort: port,
      dstPort,
      seq: this.datagramCounter,
      ack: 0,
      window: 0,
      payload,
    };
    if (this.datagrams.length - this.datagramHead >= DATAGRAM_QUEUE_LIMIT) {
      this.datagramHead++;
      this.counters.datagramQueueDrops++;
    }
    this.datagrams.push({ destination: peer, bytes: this.encode(packet) });
  }

  /** The next event, if any. */
  pollEvent(): TransportEvent | undefined {
    const event = this.events[this.eventHead];
    if (event === undefined) return undefined;
    this.eventHead++;
    if (this.eventHead === this.events.length) {
      this.events = [];
      this.eventHead = 0;
    }
    return event;
  }

  /** Resets every connection and forgets every listener; the RSTs are still returned by `poll`. */
  close(): void {
    if (this.closedFlag) return;
    for (const connection of [...this.connections.values()])
      connection.abort(transportError(TransportErrorCode.CLOSED, 'endpoint closed'));
    this.listeners.clear();
    this.closedFlag = true;
  }

  // ---------------------------------------------------------------------------------------------
  // Network side

  /**
   * One received packet (34-byte header + payload), already out of its tunnel frame.
   * `authenticated`: the link opened it from an AEAD frame whose key is the node's named in its
   * header. Only then, and only from a node `setChecksumFree` enabled, is the CRC not checked.
   */
  receive(bytes: Uint8Array, now: number, authenticated = false): void {
    let packet: Packet;
    const skip =
      authenticated && this.checksumFree.size > 0 && this.checksumFree.has(packetSourceNode(bytes) ?? -1);
    try {
      packet = decodePacket(bytes, skip ? SKIP_CHECKSUM : undefined);
    } catch (error) {
      if (isPilotError(error, WireErrorCode.BAD_CHECKSUM)) this.counters.badChecksum++;
      else this.counters.malformed++;
      return;
    }
    if (skip) this.counters.checksumsSkipped++;
    this.receivePacket(packet, now);
  }

  /** One decoded packet. */
  receivePacket(packet: Packet, now: number): void {
    this.counters.packetsReceived++;
    if (this.closedFlag) return;
    if (packet.dst.node !== this.options.localAddress.node) {
      this.counters.wrongDestination++;
      return;
    }
    switch (packet.protocol) {
      case Protocol.STREAM:
        this.onStreamPacket(packet, now);
        return;
      case Protocol.DATAGRAM:
        this.onDatagram(packet);
        return;
      case Protocol.CONTROL:
        this.onControl(packet, now);
        return;
      default:
        this.counters.malformed++;
    }
  }

  /**
   * Packets to send now: control packets and datagrams first, then stream packets taken round-robin
   * from the connections (up to `max` in all). Call again until it returns an empty array.
   */
  poll(now: number, max = 64): Transmit[] {
    const out: Transmit[] = [];
    this.pollTo(now, max, {
      packet: (packet) => out.push({ destination: packet.dst, bytes: this.encode(packet) }),
      transmit: (transmit) => out.push(transmit),
    });
    return out;
  }

  /**
   * `poll` without the array and the encoding: hands up to `max` packets to `sink`, in the same
   * order, and returns how many. Call again until it returns 0.
   */
  pollTo(now: number, max: number, sink: TransmitSink): number {
    let count = 0;
    while (this.control.length > 0 && count < max) {
      sink.transmit(this.control.shift()!);
      count++;
    }
    if (this.probesDue.size > 0) count += this.pollProbes(now, sink, max - count);
    while (this.datagramHead < this.datagrams.length && count < max) {
      sink.transmit(this.datagrams[this.datagramHead]!);
      this.datagramHead++;
      this.counters.datagramsSent++;
      count++;
    }
    if (this.datagramHead === this.datagrams.length) {
      this.datagrams = [];
      this.datagramHead = 0;
    }
    while (count < max && this.active.size > 0) {
      let sent = false;
      for (const connection of this.active) {
        const packet = connection.pollTransmit(now);
        if (packet === undefined) {
          this.active.delete(connection);
          continue;
        }
        sink.packet(packet);
        count++;
        sent = true;
        if (count >= max) break;
      }
      if (!sent) break;
    }
    // Control packets queued while polling (a RST from a dying connection).
    while (this.control.length > 0 && count < max) {
      sink.transmit(this.control.shift()!);
      count++;
    }
    this.counters.packetsSent += count;
    return count;
  }

  /** True when `poll` may return something without new input or a timeout. */
  get wantsPoll(): boolean {
    return (
      this.control.length > 0 ||
      this.datagramHead < this.datagrams.length ||
      this.active.size > 0 ||
      this.probesDue.size > 0
    );
  }

  /**
   * The link reaches `node` again after losing it (see `PacketLink.setReachableListener`): the
   * connections still opening to it resend their SYN at the next `onTimeout(now)`. How many.
   */
  reachableAgain(node: number, now: number): number {
    let resent = 0;
    for (const connection of this.connections.values())
      if (connection.peer.node === node && connection.resendSynNow(now)) resent++;
    return resent;
  }

  /** The earliest time `onTimeout` has work, or undefined. */
  nextTimeout(): number | undefined {
    let next = Number.POSITIVE_INFINITY;
    for (const connection of this.connections.values()) {
      const deadline = connection.nextTimeout();
      if (deadline < next) next = deadline;
    }
    for (const path of this.paths.values()) {
      const deadline = path.prober.nextTimeout();
      if (deadline < next) next = deadline;
    }
    return next === Number.POSITIVE_INFINITY ? undefined : next;
  }

  onTimeout(now: number): void {
    for (const connection of [...this.connections.values()]) {
      if (connection.nextTimeout() <= now) {
        connection.onTimeout(now);
        this.active.add(connection);
      }
    }
    for (const path of this.paths.values()) {
      if (path.prober.nextTimeout() > now) continue;
      const before = path.prober.size;
      path.prober.onTimeout(now);
      if (path.prober.size !== before) this.pathSizeChanged(path);
      if (path.prober.wantsProbe) this.probesDue.add(path);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Internals

  private onStreamPacket(packet: Packet, now: number): void {
    const flags = packet.flags;
    // Most packets belong to the connection of the packet before: skip building its key string.
    const last = this.lastConnection;
    if (
      last !== undefined &&
      last.remotePort === packet.srcPort &&
      last.localPort === packet.dstPort &&
      last.peer.node === packet.src.node &&
      last.peer.network === packet.src.network &&
      (flags & PacketFlag.SYN) === 0
    ) {
      last.onPacket(packet, now);
      this.active.add(last);
      return;
    }
    const key = connectionKey(packet.src, packet.srcPort, packet.dstPort);
    const existing = this.connections.get(key);
    if (existing !== undefined) {
      if (
        (flags & PacketFlag.SYN) !== 0 &&
        (flags & PacketFlag.ACK) === 0 &&
        existing.state === ConnectionState.TIME_WAIT
      ) {
        // A new incarnation of the same 4-tuple: TIME_WAIT gives way to it.
        existing.discard();
      } else {
        this.lastConnection = existing;
        existing.onPacket(packet, now);
        this.active.add(existing);
        return;
      }
    }
    if ((flags & PacketFlag.RST) !== 0) return;
    if ((flags & PacketFlag.SYN) !== 0 && (flags & PacketFlag.ACK) === 0) {
      this.onSyn(packet, key, now);
      return;
    }
    this.counters.unknownConnection++;
    this.sendReset(packet, now);
  }

  private onSyn(syn: Packet, key: string, now: number): void {
    if (this.admit !== undefined && !this.admit(syn.src, syn.dstPort, 'stream')) {
      this.counters.notAdmitted++;
      return;
    }
    const listener = this.listeners.get(syn.dstPort);
    if (listener === undefined) {
      this.counters.synRefused++;
      this.sendReset(syn, now);
      return;
    }
    if (!this.synLimiter.admit(addressKey(syn.src), now)) {
      this.counters.synRateLimited++;
      return;
    }
    const onPort = this.portCounts.get(syn.dstPort) ?? 0;
    if (onPort >= listener.maxConnections || this.connections.size >= this.options.maxConnections) {
      this.counters.synRefused++;
      this.sendReset(syn, now);
      return;
    }
    const fromSource = listener.perSource.get(syn.src.node) ?? 0;
    if (fromSource >= listener.maxPerSource) {
      this.counters.synPerSourceRefused++;
      this.sendReset(syn, now);
      return;
    }
    // LocalAddr is the SYN's destination, so network-specific addresses work (reference §6.2).
    const connection = new Connection(
      this.host,
      { peer: syn.src, localAddress: syn.dst, localPort: syn.dstPort, remotePort: syn.srcPort },
      false,
      now,
    );
    if (listener.receiveWindowSegments !== undefined)
      connection.limitReceiveWindow(listener.receiveWindowSegments);
    connection.acceptSyn(syn);
    this.connections.set(key, connection);
    this.portCounts.set(syn.dstPort, onPort + 1);
    listener.perSource.set(syn.src.node, fromSource + 1);
    this.active.add(connection);
  }

  private onEstablished(connection: Connection): boolean {
    const listener = this.listeners.get(connection.localPort);
    if (listener === undefined || listener.queue.length >= listener.backlog) {
      this.counters.synRefused++;
      connection.abort();
      return false;
    }
    listener.queue.push(connection);
    this.events.push({ type: 'incoming', port: connection.localPort });
    return true;
  }

  private onClosed(connection: Connection): void {
    if (this.lastConnection === connection) this.lastConnection = undefined;
    const key = connectionKey(connection.peer, connection.remotePort, connection.localPort);
    if (this.connections.get(key) === connection) this.connections.delete(key);
    this.active.delete(connection);
    if (!connection.initiator) {
      const count = (this.portCounts.get(connection.localPort) ?? 1) - 1;
      if (count <= 0) this.portCounts.delete(connection.localPort);
      else this.portCounts.set(connection.localPort, count);
      const listener = this.listeners.get(connection.localPort);
      if (listener !== undefined) {
        const index = listener.queue.indexOf(connection);
        if (index >= 0) listener.queue.splice(index, 1);
        const fromSource = (listener.perSource.get(connection.peer.node) ?? 1) - 1;
        if (fromSource <= 0) listener.perSource.delete(connection.peer.node);
        else listener.perSource.set(connection.peer.node, fromSource);
      }
    }
  }

  /** RST for a packet that matches no connection, rate-limited so it cannot be used to amplify. */
  private sendReset(packet: Packet, now: number): void {
    this.rstLimiter ??= new TokenBucket(RST_RATE, RST_RATE, now);
    if (!this.rstLimiter.take(now)) return;
    const length =
      packet.payload.length +
      ((packet.flags & PacketFlag.SYN) !== 0 ? 1 : 0) +
      ((packet.flags & PacketFlag.FIN) !== 0 ? 1 : 0);
    const reply: Packet = {
      version: PROTOCOL_VERSION,
      flags: PacketFlag.RST | PacketFlag.ACK,
      protocol: Protocol.STREAM,
      src: packet.dst,
      dst: packet.src,
      srcPort: packet.dstPort,
      dstPort: packet.srcPort,
      seq: packet.ack,
      ack: seqAdd(packet.seq, length),
      window: 0,
      payload: new Uint8Array(0),
    };
    this.control.push({ destination: packet.src, bytes: this.encode(reply) });
  }

  private onDatagram(packet: Packet): void {
    if (packet.payload.length === 0) return;
    if (this.admit !== undefined && !this.admit(packet.src, packet.dstPort, 'datagram')) {
      this.counters.notAdmitted++;
      return;
    }
    const peer = addressKey(packet.src);
    let window = this.datagramWindows.get(peer);
    if (window === undefined) {
      if (this.datagramWindows.size >= DATAGRAM_PEERS) {
        const oldest = this.datagramWindows.keys().next();
        if (oldest.done !== true) this.datagramWindows.delete(oldest.value);
      }
      window = new DatagramWindow();
      this.datagramWindows.set(peer, window);
    }
    if (!window.accept(packet.seq)) {
      this.counters.duplicateDatagrams++;
      return;
    }
    this.counters.datagramsReceived++;
    this.events.push({
      type: 'datagram',
      datagram: {
        peer: packet.src,
        srcPort: packet.srcPort,
        dstPort: packet.dstPort,
        payload: packet.payload,
      },
    });
  }

  /** Ping (reference §6.10): a control packet to port 0 is echoed with ACK, ack = seq + 1. */
  private onControl(packet: Packet, now: number): void {
    if (packet.dstPort !== 0) return;
    if ((packet.flags & PacketFlag.ACK) !== 0) {
      if (packet.srcPort === 0) this.onProbeAnswer(packet, now);
      return;
    }
    // A path MTU probe (padded ping) is answered with its first bytes only: the answer confirms
    // the size without sending as much back (and never more than was received).
    const payload = isProbePayload(packet.payload)
      ? packet.payload.subarray(0, PROBE_ANSWER_BYTES)
      : packet.payload;
    const reply: Packet = {
      version: PROTOCOL_VERSION,
      flags: PacketFlag.ACK,
      protocol: Protocol.CONTROL,
      src: packet.dst,
      dst: packet.src,
      srcPort: 0,
      dstPort: packet.srcPort,
      seq: packet.seq,
      ack: seqAdd(packet.seq, 1),
      window: 0,
      payload,
    };
    this.control.push({ destination: packet.src, bytes: this.encode(reply) });
  }

  private ephemeralPort(peer: Address, remotePort: number): number {
    const span = EPHEMERAL_PORT_MAX - EPHEMERAL_PORT_MIN + 1;
    for (let i = 0; i < span; i++) {
      const port = this.nextEphemeral;
      this.nextEphemeral = port === EPHEMERAL_PORT_MAX ? EPHEMERAL_PORT_MIN : port + 1;
      if (!this.connections.has(connectionKey(peer, remotePort, port))) return port;
    }
    throw transportError(TransportErrorCode.PORT_IN_USE, 'no free ephemeral port');
  }

  private assertOpen(): void {
    if (this.closedFlag) throw transportError(TransportErrorCode.CLOSED, 'endpoint is closed');
  }
}

function checkPort(port: number, name: string): void {
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) {
    throw transportError(TransportErrorCode.BAD_ARGUMENT, `${name} must be an integer in [0, 65535]`);
  }
}
