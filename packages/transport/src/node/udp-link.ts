import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';
import { isIP } from 'node:net';
import type { UdpAddress } from '@pilot/wire';
import type { Address } from '../wire.js';
import type { PacketLink, PacketReceiver } from './packet-link.js';
import { PlaintextCodec, type TunnelCodec } from './tunnel-codec.js';

export interface UdpLinkOptions {
  /** UDP address to bind (default 127.0.0.1; pass '0.0.0.0' to listen on all). */
  readonly host?: string;
  /** UDP port to bind (default 0: any). */
  readonly port?: number;
  /** Framing of each packet in its datagram (default PILT plaintext). */
  readonly codec?: TunnelCodec;
  /** SO_RCVBUF / SO_SNDBUF request (default 4 MiB; the kernel may cap it). */
  readonly socketBufferSize?: number;
  /** Learn a node's UDP endpoint from the packets it sends (default true). */
  readonly learnPeers?: boolean;
}

/**
 * A plain packet link: one UDP socket, a node → UDP endpoint table filled by `addPeer` (and by
 * the packets peers send, unless `learnPeers` is false), and a `TunnelCodec` framing each packet
 * (PILT by default, `SealedCodec` for one pre-agreed key). For tests, benchmarks and fixed
 * deployments; the daemon's link is its tunnel.
 */
export class UdpLink implements PacketLink {
  private readonly socket_: Socket;
  private readonly codec: TunnelCodec;
  // Keyed by node ID only: a node has one UDP endpoint whatever network address reaches it.
  private readonly peers = new Map<number, UdpAddress>();
  private readonly learnPeers: boolean;
  private receiver: PacketReceiver | undefined;
  private closing = false;
  private lastNode = -1;
  private lastPeer: UdpAddress | undefined;
  private lastTo: Address = { network: 0, node: 0 };
  private lastSourceNode = -1;
  private readonly onMessage = (message: Buffer, remote: RemoteInfo): void => this.receive(message, remote);

  private constructor(socket: Socket, options: UdpLinkOptions) {
    this.socket_ = socket;
    this.codec = options.codec ?? new PlaintextCodec();
    this.learnPeers = options.learnPeers ?? true;
    socket.on('message', this.onMessage);
  }

  /** Binds a UDP socket (errors after binding are the socket's 'error' events). */
  static async bind(options: UdpLinkOptions = {}): Promise<UdpLink> {
    return new UdpLink(await bindUdpSocket(options), options);
  }

  /** The UDP socket itself (tests watch it; its 'error' events are the owner's to handle). */
  get socket(): Socket {
    return this.socket_;
  }

  /** The bound UDP endpoint. */
  get udpAddress(): UdpAddress {
    const { address, port } = this.socket_.address();
    return { address, port };
  }

  /** Tells the link where a node is reachable. Only the node ID counts (any network of that node). */
  addPeer(address: Address, endpoint: UdpAddress): void {
    this.peers.set(address.node, endpoint);
    this.lastNode = -1;
  }

  /** The UDP endpoint a node is reached at (whatever the network part of `address`), if one is known. */
  peerEndpoint(address: Address): UdpAddress | undefined {
    return this.peers.get(address.node);
  }

  removePeer(address: Address): void {
    this.peers.delete(address.node);
    this.lastNode = -1;
    this.lastSourceNode = -1;
  }

  reaches(node: number): boolean {
    return this.peers.has(node);
  }

  send(packet: Uint8Array, node: number): void {
    if (this.closing) return;
    let peer = this.lastPeer;
    if (node !== this.lastNode) {
      // The last destination is remembered: a connection's packets all go to one node.
      peer = this.peers.get(node);
      this.lastNode = node;
      this.lastPeer = peer;
      this.lastTo = { network: 0, node };
    }
    if (peer === undefined) return;
    const to = this.lastTo;
    const codec = this.codec;
    const frame =
      codec.sealTransient !== undefined ? codec.sealTransient(packet, to) : codec.seal(packet, to);
    if (frame !== undefined) this.socket_.send(frame, peer.port, peer.address);
  }

  setReceiver(receiver: PacketReceiver | undefined): void {
    this.receiver = receiver;
  }

  /** Closes the socket. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.socket_.off('message', this.onMessage);
    await new Promise<void>((resolve) => this.socket_.close(() => resolve()));
  }

  private receive(message: Buffer, remote: RemoteInfo): void {
    if (this.closing) return;
    // A plain Uint8Array view of the datagram: the codec and the packet decoder slice it several
    // times, and Buffer#subarray (a JS FastBuffer per call) cost ~4 % of a receiving core.
    const frame = new Uint8Array(message.buffer, message.byteOffset, message.byteLength);
    // The datagram's RemoteInfo is a UdpAddress already: no copy per datagram.
    const packet = this.codec.open(frame, remote);
    if (packet === undefined || packet.length < 10) return;
    if (this.learnPeers) {
      const node = ((packet[6]! << 24) | (packet[7]! << 16) | (packet[8]! << 8) | packet[9]!) >>> 0;
      // Skip the lookup for the common case: the same sender as the packet before.
      if (node !== this.lastSourceNode) {
        if (!this.peers.has(node)) {
          this.peers.set(node, { address: remote.address, port: remote.port });
          this.lastNode = -1;
        }
        this.lastSourceNode = node;
      }
    }
    this.receiver?.(packet);
  }
}

/**
 * Binds a UDP socket for a link (the tunnel's too): IPv4 or IPv6 by the host's spelling, IP
 * literals resolved without a DNS round, socket buffers raised.
 */
export async function bindUdpSocket(options: {
  readonly host?: string;
  readonly port?: number;
  readonly socketBufferSize?: number;
}): Promise<Socket> {
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
  return socket;
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
