import {
  type BackendName,
  createTunnelOpener,
  createTunnelSealer,
  SEALED_FRAME_OVERHEAD,
  type TunnelOpener,
  type TunnelSealer,
} from '@pilot/crypto';
import { TunnelMagic, type UdpAddress } from '@pilot/wire';
import type { Address } from '../wire.js';
import { FrameSlab } from './frame-slab.js';
import type { TunnelCodec } from './tunnel-codec.js';

export interface SealedCodecOptions {
  /** The 32-byte AES-256-GCM tunnel key every peer of this codec shares (agreed beforehand). */
  readonly key: Uint8Array;
  /** Our node ID: the sender ID of the frames we seal, and the AAD. */
  readonly localNode: number;
  /** The crypto backend (default: the crypto package's fastest, node:crypto where available). */
  readonly backend?: BackendName;
  /** Peers whose opener (replay window) is kept (default 4096); the oldest is dropped beyond it. */
  readonly maxPeers?: number;
}

/** What the codec refused, for tests and benchmarks. */
export interface SealedCodecCounters {
  sealed: number;
  opened: number;
  /** Not PILS, too short, failed authentication, replayed, or a packet naming another sender. */
  rejected: number;
}

const PEER_LIMIT = 4096;
/** The packet's source node sits at bytes 6..10 of its header. */
const PACKET_SRC_NODE = 6;

/**
 * PILS tunnel frames (spec §3) under one pre-agreed key, through `@pilot/crypto`'s sealer and
 * opener (nonce sequence, replay window, sender ID as AAD). For benchmarks, tests and fixed
 * deployments; the daemon derives a key per peer with its key exchange and brings its own codec.
 * A frame opens only when the packet inside claims the node that sealed it, so one peer cannot
 * speak for another.
 */
export class SealedCodec implements TunnelCodec {
  readonly counters: SealedCodecCounters = { sealed: 0, opened: 0, rejected: 0 };
  private readonly key: Uint8Array;
  private readonly localNode: number;
  private readonly backend: BackendName | undefined;
  private readonly maxPeers: number;
  private readonly sealers = new Map<number, TunnelSealer>();
  private readonly openers = new Map<number, TunnelOpener>();
  private readonly slab = new FrameSlab();

  constructor(options: SealedCodecOptions) {
    this.key = Uint8Array.from(options.key);
    this.localNode = options.localNode;
    this.backend = options.backend;
    this.maxPeers = options.maxPeers ?? PEER_LIMIT;
    // Fail now on a bad key or node ID (the crypto package's own errors), not on the first packet.
    this.sealerFor(0);
    this.sealers.clear();
  }

  seal(packet: Uint8Array, peer: Address): Uint8Array {
    this.counters.sealed++;
    return this.sealerFor(peer.node).seal(packet);
  }

  /**
   * The cipher reads the packet once, into the new frame: the driver may lend it its buffer. The
   * frame is a view into a shared slab (see FrameSlab): a `new Uint8Array` of datagram size gets a
   * backing store of its own, which cost more than the cipher itself at tens of thousands of frames
   * a second.
   */
  sealTransient(packet: Uint8Array, peer: Address): Uint8Array {
    this.counters.sealed++;
    const frame = this.slab.take(packet.length + SEALED_FRAME_OVERHEAD);
    this.sealerFor(peer.node).sealInto(packet, frame, 0);
    return frame;
  }

  open(frame: Uint8Array, _from: UdpAddress): Uint8Array | undefined {
    if (frame.length < 8 || readU32(frame, 0) !== TunnelMagic.ENCRYPTED) {
      this.counters.rejected++;
      return undefined;
    }
    const sender = readU32(frame, 4);
    const known = this.openers.get(sender);
    const opener = known ?? this.newOpener(sender);
    let packet: Uint8Array;
    try {
      // The driver hands over each datagram's own buffer and tries nothing else on it: decrypt in place.
      packet = opener.openInPlace(frame);
    } catch {
      this.counters.rejected++;
      return undefined;
    }
    // Only a frame that authenticated creates state: forged sender IDs cannot evict real peers.
    if (known === undefined) remember(this.openers, sender, opener, this.maxPeers);
    if (packet.length < PACKET_SRC_NODE + 4 || readU32(packet, PACKET_SRC_NODE) !== sender) {
      this.counters.rejected++;
      return undefined;
    }
    this.counters.opened++;
    return packet;
  }

  /**
   * One sealer per peer we send to, never evicted: a replacement would restart the nonce counter
   * at 1, below the peer's replay window. Only our own sends (to peers we chose) create them.
   */
  private sealerFor(node: number): TunnelSealer {
    let sealer = this.sealers.get(node);
    if (sealer === undefined) {
      sealer = createTunnelSealer({
        key: this.key,
        senderNode: this.localNode,
        ...(this.backend === undefined ? {} : { backend: this.backend }),
      });
      this.sealers.set(node, sealer);
    }
    return sealer;
  }

  private newOpener(node: number): TunnelOpener {
    return createTunnelOpener({
      key: this.key,
      peerNode: node,
      ...(this.backend === undefined ? {} : { backend: this.backend }),
    });
  }
}

function remember<V>(map: Map<number, V>, key: number, value: V, limit: number): void {
  if (map.size >= limit) {
    const oldest = map.keys().next();
    if (oldest.done !== true) map.delete(oldest.value);
  }
  map.set(key, value);
}

function readU32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}
