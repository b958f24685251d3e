import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { UdpAddress } from '@pilot/wire';
import type { Connection } from '../core/connection.js';
import { Endpoint, type ListenOptions, type Transmit, type TransmitSink } from '../core/endpoint.js';
import type { Datagram } from '../core/events.js';
import type { EndpointOptions } from '../core/options.js';
import { TransportErrorCode, transportError } from '../errors.js';
import { type Address, HEADER_SIZE, MAX_PAYLOAD, type Packet } from '../wire.js';
import type { PacketLink, PacketReceiver } from './packet-link.js';
import { PilotStream } from './pilot-stream.js';
import { UdpLink, type UdpLinkOptions } from './udp-link.js';

export interface UdpTransportOptions extends EndpointOptions, UdpLinkOptions {
  /**
   * The packet link to run over (the daemon's tunnel). Without one the transport binds its own
   * plain `UdpLink` from `host`, `port`, `codec`, `socketBufferSize` and `learnPeers`, and closes it
   * on close; a link given here stays open (its owner closes it).
   */
  readonly link?: PacketLink;
  /** Stream high-water marks (default 64 KiB). */
  readonly streamHighWaterMark?: number;
}

/** Options of a transport on its own plain UDP link. */
export type PlainUdpTransportOptions = UdpTransportOptions & { readonly link?: undefined };

/**
 * Packets handed to the socket per pass of the event loop before received datagrams (ACKs) get a
 * turn. A whole window at once starves the ACK clock: the sender stalls on a full send buffer
 * while ACKs that would free it wait in the socket.
 */
const PACKETS_PER_TURN = 256;

interface PendingConnect {
  readonly resolve: (stream: PilotStream) => void;
  readonly reject: (error: Error) => void;
}

/**
 * The Node.js driver: the sans-IO Endpoint run with real time over a `PacketLink` (a plain
 * `UdpLink` of its own, or the daemon's tunnel). Received packets are processed at once; output and
 * timers are handled in one pass per event-loop turn, so writes made in the same turn are coalesced
 * into full segments. It only calls down into the link: paths, sockets and keys are the link's.
 *
 * Events: 'connection' (PilotStream) for accepted streams, 'datagram' (Datagram), 'error' (the
 * socket of its own link).
 */
export class UdpTransport<L extends PacketLink = UdpLink> extends EventEmitter {
  readonly endpoint: Endpoint;
  /** The link packets go over. */
  readonly link: L;
  /** Whether the transport bound the link itself (then it closes it). */
  private readonly ownsLink: boolean;
  private readonly highWaterMark: number;
  private readonly connects = new Map<Connection, PendingConnect>();
  private immediate: NodeJS.Immediate | undefined;
  private microtask = false;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private closing = false;
  /** Streams reset by our own close end quietly (no 'error' nobody listens for). */
  private shuttingDown = false;
  /** Packets are encoded here and lent to the link (no copy or allocation per packet). */
  private readonly scratch = new Uint8Array(HEADER_SIZE + MAX_PAYLOAD);
  private readonly receiver: PacketReceiver = (packet, authenticated) => this.receive(packet, authenticated);
  private readonly sink: TransmitSink = {
    packet: (packet) => this.sendPacket(packet),
    transmit: (transmit) => this.sendTransmit(transmit),
  };

  private constructor(link: L, ownsLink: boolean, options: UdpTransportOptions) {
    super();
    this.link = link;
    this.ownsLink = ownsLink;
    this.endpoint = new Endpoint(options);
    this.highWaterMark = options.streamHighWaterMark ?? 64 * 1024;
    link.setReceiver(this.receiver);
    link.setReachableListener?.((node) => this.reachableAgain(node));
    if (link instanceof UdpLink) link.socket.on('error', (error) => this.emit('error', error));
  }

  /** A transport over the given link (left open at close: its owner closes it). */
  static create<L extends PacketLink>(
    options: UdpTransportOptions & { readonly link: L },
  ): Promise<UdpTransport<L>>;
  /** Binds a plain `UdpLink` and returns the running transport over it. */
  static create(options: PlainUdpTransportOptions): Promise<UdpTransport<UdpLink>>;
  static async create(options: UdpTransportOptions): Promise<UdpTransport<PacketLink>> {
    if (options.link !== undefined) return new UdpTransport(options.link, false, options);
    return new UdpTransport(await UdpLink.bind(options), true, options);
  }

  /** The bound UDP endpoint of the transport's own `UdpLink` (a plain transport only). */
  get udpAddress(): UdpAddress {
    return this.plainLink().udpAddress;
  }

  get localAddress(): Address {
    return this.endpoint.localAddress;
  }

  /**
   * Tells the transport's own `UdpLink` where a node is reachable (a plain transport only). Only
   * the node ID counts: every network address of that node goes to this one UDP endpoint.
   */
  addPeer(this: UdpTransport<UdpLink>, address: Address, endpoint: UdpAddress): void {
    this.link.addPeer(address, endpoint);
  }

  /** The UDP endpoint the own `UdpLink` reaches a node at (a plain transport only), if one is known. */
  peerEndpoint(this: UdpTransport<UdpLink>, address: Address): UdpAddress | undefined {
    return this.link.peerEndpoint(address);
  }

  removePeer(this: UdpTransport<UdpLink>, address: Address): void {
    this.link.removePeer(address);
  }

  /**
   * Path MTU discovery towards a node (RFC 8899, see `Endpoint.probePathMtu`): larger datagrams,
   * up to `ceiling` bytes, once a probe of that size is answered. Only for peers known to answer
   * probes; a ceiling at or below `maxDatagramSize` stops it.
   */
  probePathMtu(address: Address, ceiling: number, options: { probeTimeout?: number } = {}): void {
    if (this.closing) return;
    this.endpoint.probePathMtu(address, ceiling, options);
    this.schedule();
  }

  /**
   * Packets without a CRC to and from a node whose link seals every packet with an AEAD (see
   * `Endpoint.setChecksumFree`): only for a peer that negotiated it with the link's owner (the
   * daemon's `aead-checksum-free`), over a link that passes `authenticated` for what it opened.
   */
  setChecksumFree(address: Address, enabled: boolean): void {
    this.endpoint.setChecksumFree(address, enabled);
  }

  listen(port: number, options?: ListenOptions): void {
    this.endpoint.listen(port, options);
  }

  unlisten(port: number): void {
    this.endpoint.unlisten(port);
    this.schedule();
  }

  /** Opens a stream to `address:port`; resolves once the handshake completes. */
  connect(address: Address, port: number): Promise<PilotStream> {
    if (this.closing) return Promise.reject(transportError(TransportErrorCode.CLOSED, 'transport is closed'));
    if (!this.link.reaches(address.node)) {
      return Promise.reject(transportError(TransportErrorCode.NO_ROUTE, 'no path known to that node'));
    }
    const connection = this.endpoint.connect(address, port, performance.now());
    const stream = new PilotStream(connection, this, this.highWaterMark);
    // Until the caller holds the stream, a failed connect's error belongs to the promise only;
    // without this listener the stream's 'error' event would be unhandled and crash the process.
    const swallow = (): void => {};
    stream.on('error', swallow);
    const promise = new Promise<PilotStream>((resolve, reject) =>
      this.connects.set(connection, { resolve, reject }),
    );
    this.schedule();
    return promise.then(() => {
      stream.off('error', swallow);
      return stream;
    });
  }

  sendDatagram(address: Address, port: number, payload: Uint8Array, srcPort?: number): void {
    this.endpoint.sendDatagram(address, port, payload, srcPort);
    this.schedule();
  }

  /** Resets every connection and stops every timer; closes the link if the transport bound it. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.shuttingDown = true;
    this.endpoint.close();
    this.run();
    this.closing = true;
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.immediate = undefined;
    this.timer = undefined;
    for (const pending of this.connects.values())
      pending.reject(transportError(TransportErrorCode.CLOSED, 'transport closed'));
    this.connects.clear();
    this.link.setReceiver(undefined);
    this.link.setReachableListener?.(undefined);
    if (this.ownsLink && this.link instanceof UdpLink) await this.link.close();
  }

  /**
   * Runs the endpoint as a microtask: after the code that wrote returns (so its writes coalesce
   * into full segments), not a turn of the event loop later. A request/response exchange saves
   * a loop iteration per hop this way. Reads and received packets keep `schedule`, which batches
   * everything one poll of the socket delivered.
   */
  scheduleWrite(): void {
    if (this.closing || this.microtask) return;
    this.microtask = true;
    queueMicrotask(() => {
      this.microtask = false;
      if (!this.closing) this.run();
    });
  }

  /** Runs the endpoint on the next turn of the event loop (once, however often it is asked). */
  schedule(): void {
    if (this.closing || this.immediate !== undefined) return;
    this.immediate = setImmediate(() => {
      this.immediate = undefined;
      this.run();
    });
  }

  /** The link reaches `node` again: SYNs waiting for its answer go now (run on the next turn). */
  private reachableAgain(node: number): void {
    if (this.closing) return;
    if (this.endpoint.reachableAgain(node, performance.now()) > 0) this.schedule();
  }

  private receive(packet: Uint8Array, authenticated: boolean | undefined): void {
    if (this.closing || packet.length < 10) return;
    this.endpoint.receive(packet, performance.now(), authenticated === true);
    this.schedule();
  }

  private plainLink(): UdpLink {
    if (this.link instanceof UdpLink) return this.link;
    throw transportError(
      TransportErrorCode.BAD_ARGUMENT,
      'the transport runs over a link of its owner, not a UdpLink',
    );
  }

  private run(): void {
    const endpoint = this.endpoint;
    let now = performance.now();
    const deadline = endpoint.nextTimeout();
    if (deadline !== undefined && deadline <= now) endpoint.onTimeout(now);
    this.dispatch();
    for (let sent = 0; sent < PACKETS_PER_TURN; ) {
      const count = endpoint.pollTo(now, 64, this.sink);
      if (count === 0) break;
      sent += count;
      this.dispatch();
      now = performance.now();
    }
    this.dispatch();
    if (endpoint.wantsPoll) this.schedule();
    this.arm();
  }

  private sendPacket(packet: Packet): void {
    const scratch = this.scratch;
    const length = this.endpoint.encodeInto(packet, scratch, 0);
    this.link.send(scratch.subarray(0, length), packet.dst.node);
  }

  private sendTransmit(transmit: Transmit): void {
    this.link.send(transmit.bytes, transmit.destination.node);
  }

  private arm(): void {
    if (this.closing) return;
    const deadline = this.endpoint.nextTimeout();
    if (deadline === undefined) {
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.timer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
      return;
    }
    if (this.timer !== undefined && this.timerAt === deadline) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = deadline;
    const delay = deadline - performance.now();
    // Sub-millisecond waits (mostly the pacer's) sleep the timer's 1 ms: the pacer's burst allowance
    // covers 2 ms at its rate, and spinning on setImmediate burnt a core that the receiver needed.
    if (delay <= 0) {
      this.timer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
      this.schedule();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
      this.run();
    }, delay);
  }

  private dispatch(): void {
    for (let event = this.endpoint.pollEvent(); event !== undefined; event = this.endpoint.pollEvent()) {
      switch (event.type) {
        case 'incoming': {
          for (
            let c = this.endpoint.accept(event.port);
            c !== undefined;
            c = this.endpoint.accept(event.port)
          ) {
            this.emit('connection', new PilotStream(c, this, this.highWaterMark));
          }
          break;
        }
        case 'connected': {
          const pending = this.connects.get(event.connection);
          this.connects.delete(event.connection);
          pending?.resolve(event.connection.userData as PilotStream);
          break;
        }
        case 'readable':
          streamOf(event.connection)?.onReadable();
          break;
        case 'writable':
          streamOf(event.connection)?.onWritable();
          break;
        case 'closed': {
          const pending = this.connects.get(event.connection);
          if (pending !== undefined) {
            this.connects.delete(event.connection);
            pending.reject(
              event.error ??
                transportError(TransportErrorCode.CONNECTION_RESET, 'connection closed during the handshake'),
            );
          }
          const stream = streamOf(event.connection);
          if (this.shuttingDown) stream?.destroy();
          else stream?.onClosed(event.error);
          break;
        }
        case 'datagram':
          this.emit('datagram', event.datagram satisfies Datagram);
          break;
      }
    }
  }
}

function streamOf(connection: Connection): PilotStream | undefined {
  return connection.userData instanceof PilotStream ? connection.userData : undefined;
}
