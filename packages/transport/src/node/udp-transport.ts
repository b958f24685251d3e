import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Connection } from '../core/connection.js';
import { Endpoint, type ListenOptions, type Transmit, type TransmitSink } from '../core/endpoint.js';
import type { Datagram } from '../core/events.js';
import type { EndpointOptions } from '../core/options.js';
import { TransportErrorCode, transportError } from '../errors.js';
import {
  type Address,
  encodePacket,
  encodePacketInto,
  HEADER_SIZE,
  MAX_PAYLOAD,
  type Packet,
} from '../wire.js';
import { PilotStream } from './pilot-stream.js';
import { PlaintextCodec, type TunnelCodec, type UdpEndpoint } from './tunnel-codec.js';

export interface UdpTransportOptions extends EndpointOptions {
  /** UDP address to bind (default 127.0.0.1... pass '0.0.0.0' to listen on all). */
  readonly host?: string;
  /** UDP port to bind (default 0: any). */
  readonly port?: number;
  /** Tunnel framing (default PILT plaintext). */
  readonly codec?: TunnelCodec;
  /** SO_RCVBUF / SO_SNDBUF request (default 4 MiB; the kernel may cap it). */
  readonly socketBufferSize?: number;
  /** Learn a peer's UDP endpoint from the packets it sends (default true). */
  readonly learnPeers?: boolean;
  /** Stream high-water marks (default 64 KiB). */
  readonly streamHighWaterMark?: number;
}

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
 * The node:dgram driver: one UDP socket, many peers (each a node address reached at a UDP
 * endpoint), and the sans-IO Endpoint run with real time. Received datagrams are processed at
 * once; output and timers are handled in one pass per event-loop turn, so writes made in the same
 * turn are coalesced into full segments.
 *
 * Events: 'connection' (PilotStream) for accepted streams, 'datagram' (Datagram), 'error'.
 */
export class UdpTransport extends EventEmitter {
  readonly endpoint: Endpoint;
  private readonly socket_: Socket;
  private readonly codec: TunnelCodec;
  // Keyed by node ID only: a node has one UDP endpoint whatever network address reaches it.
  private readonly peers = new Map<number, UdpEndpoint>();
  private readonly learnPeers: boolean;
  private readonly highWaterMark: number;
  private readonly connects = new Map<Connection, PendingConnect>();
  private immediate: NodeJS.Immediate | undefined;
  private microtask = false;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private closing = false;
  /** Streams reset by our own close end quietly (no 'error' nobody listens for). */
  private shuttingDown = false;
  private readonly onMessage = (message: Buffer, remote: RemoteInfo): void => this.receive(message, remote);
  /** Stream packets are encoded here when the codec seals from a borrowed buffer (no copy per packet). */
  private readonly scratch: Uint8Array | undefined;
  /** The last destination looked up, by identity: a connection's packets all carry its peer object. */
  private lastDestination: Address | undefined;
  private lastPeer: UdpEndpoint | undefined;
  private lastSourceNode = -1;
  private readonly sink: TransmitSink = {
    packet: (packet) => this.sendPacket(packet),
    transmit: (transmit) => this.sendTransmit(transmit),
  };

  private constructor(socket: Socket, options: UdpTransportOptions) {
    super();
    this.socket_ = socket;
    this.endpoint = new Endpoint(options);
    this.codec = options.codec ?? new PlaintextCodec();
    this.scratch =
      this.codec.sealTransient === undefined ? undefined : new Uint8Array(HEADER_SIZE + MAX_PAYLOAD);
    this.learnPeers = options.learnPeers ?? true;
    this.highWaterMark = options.streamHighWaterMark ?? 64 * 1024;
    socket.on('message', this.onMessage);
    socket.on('error', (error) => this.emit('error', error));
  }

  /** Binds a UDP socket and returns the running transport. */
  static async create(options: UdpTransportOptions): Promise<UdpTransport> {
    const host = options.host ?? '127.0.0.1';
    const socket = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', lookup: literalLookup });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(options.port ?? 0, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const size = options.socketBufferSize ?? 4 * 1024 * 1024;
    try {
      socket.setRecvBufferSize(size);
      socket.setSendBufferSize(size);
    } catch {
      // The kernel caps the request (net.core.rmem_max); the default buffers still work.
    }
    return new UdpTransport(socket, options);
  }

  /**
   * The UDP socket itself, for the layers that share it (the beacon client, hole punching): one
   * socket per node keeps one NAT mapping. They add their own 'message' listeners; frames this
   * transport's codec does not open are ignored here. Closing stays the transport's job.
   */
  get socket(): Socket {
    return this.socket_;
  }

  /** The bound UDP endpoint. */
  get udpAddress(): UdpEndpoint {
    const info = this.socket_.address();
    return { host: info.address, port: info.port };
  }

  get localAddress(): Address {
    return this.endpoint.localAddress;
  }

  /**
   * Tells the transport where a node is reachable. Only the node ID counts: every network address
   * of that node (`N:node` for any network N) goes to this one UDP endpoint.
   */
  addPeer(address: Address, endpoint: UdpEndpoint): void {
    this.peers.set(address.node, endpoint);
    this.lastDestination = undefined;
  }

  /** The UDP endpoint a node is reached at (whatever the network part of `address`), if one is known. */
  peerEndpoint(address: Address): UdpEndpoint | undefined {
    return this.peers.get(address.node);
  }

  /**
   * Sends a frame that is not a packet of this transport (a key exchange, a punch, a beacon
   * message) from the same socket, so that NAT mappings made by one serve the other.
   */
  sendRaw(frame: Uint8Array, to: UdpEndpoint): void {
    if (this.closing) return;
    this.socket_.send(frame, to.port, to.host);
  }

  /** Feeds a packet that arrived some other way (relayed, or opened by the caller) to the endpoint. */
  receivePacket(packet: Uint8Array): void {
    if (this.closing) return;
    this.endpoint.receive(packet, performance.now());
    this.schedule();
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

  removePeer(address: Address): void {
    this.peers.delete(address.node);
    this.lastDestination = undefined;
    this.lastSourceNode = -1;
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
    if (!this.peers.has(address.node)) {
      return Promise.reject(
        transportError(TransportErrorCode.NO_ROUTE, 'no UDP endpoint known for that node'),
      );
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

  /** Resets every connection, stops every timer and closes the socket. */
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
    this.socket_.off('message', this.onMessage);
    await new Promise<void>((resolve) => this.socket_.close(() => resolve()));
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

  private receive(message: Buffer, remote: RemoteInfo): void {
    if (this.closing) return;
    const from = { host: remote.address, port: remote.port };
    // A plain Uint8Array view of the datagram: the codec and the packet decoder slice it several
    // times, and Buffer#subarray (a JS FastBuffer per call) cost ~4 % of a receiving core.
    const frame = new Uint8Array(message.buffer, message.byteOffset, message.byteLength);
    const packet = this.codec.open(frame, from);
    if (packet === undefined || packet.length < 10) return;
    if (this.learnPeers) {
      const node = ((packet[6]! << 24) | (packet[7]! << 16) | (packet[8]! << 8) | packet[9]!) >>> 0;
      // Skip the lookup for the common case: the same sender as the packet before.
      if (node !== this.lastSourceNode) {
        if (!this.peers.has(node)) {
          this.peers.set(node, from);
          this.lastDestination = undefined;
        }
        this.lastSourceNode = node;
      }
    }
    this.endpoint.receive(packet, performance.now());
    this.schedule();
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

  private peerOf(destination: Address): UdpEndpoint | undefined {
    if (destination === this.lastDestination) return this.lastPeer;
    const peer = this.peers.get(destination.node);
    this.lastDestination = destination;
    this.lastPeer = peer;
    return peer;
  }

  private sendPacket(packet: Packet): void {
    const peer = this.peerOf(packet.dst);
    if (peer === undefined) return;
    const scratch = this.scratch;
    let frame: Uint8Array | undefined;
    if (scratch !== undefined && this.codec.sealTransient !== undefined) {
      const length = encodePacketInto(packet, scratch, 0);
      frame = this.codec.sealTransient(scratch.subarray(0, length), packet.dst);
    } else {
      frame = this.codec.seal(encodePacket(packet), packet.dst);
    }
    if (frame !== undefined) this.socket_.send(frame, peer.port, peer.host);
  }

  private sendTransmit(transmit: Transmit): void {
    const peer = this.peerOf(transmit.destination);
    if (peer === undefined) return;
    const frame = this.codec.seal(transmit.bytes, transmit.destination);
    if (frame !== undefined) this.socket_.send(frame, peer.port, peer.host);
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

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string, family: number) => void;

/**
 * dgram resolves the destination of every send through `dns.lookup`, which answers even an IP
 * literal a tick later: a closure, a nextTick and a deferred send per datagram. Peers are IP
 * literals, so answer those at once; anything else still goes to the resolver.
 */
function literalLookup(hostname: string, options: number | LookupOneOptions, callback: LookupCallback): void {
  const family = isIP(hostname);
  if (family !== 0) {
    callback(null, hostname, family);
    return;
  }
  const resolved: LookupOneOptions = typeof options === 'number' ? { family: options } : options;
  dnsLookup(hostname, resolved, callback);
}

function streamOf(connection: Connection): PilotStream | undefined {
  return connection.userData instanceof PilotStream ? connection.userData : undefined;
}
