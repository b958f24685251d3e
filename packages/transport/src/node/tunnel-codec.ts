import { TunnelMagic, type UdpAddress } from '@pilot/wire';
import type { Address } from '../wire.js';

/**
 * The tunnel layer as the driver sees it: how an encoded packet becomes a UDP payload for a peer
 * and back. The transport core knows nothing of encryption; the daemon plugs its PILS sealer (and
 * its key exchange, which may queue packets until keys exist) in here.
 */
export interface TunnelCodec {
  /** The UDP payload carrying `packet` to `peer`, or undefined to send nothing now. */
  seal(packet: Uint8Array, peer: Address): Uint8Array | undefined;
  /**
   * The packet inside a received UDP payload, or undefined when it carries none (or is bad). The
   * frame is the codec's to keep or overwrite (the driver never reads it again), so the packet may
   * be a view of it, decrypted in place.
   */
  open(frame: Uint8Array, from: UdpAddress): Uint8Array | undefined;
  /**
   * Optional fast path, used instead of `seal` when present: the same, except that `packet` is
   * only valid during the call (the driver encodes every packet into one reused buffer). A codec
   * that keeps packets for later (queued until a key exists) must not offer it.
   */
  sealTransient?(packet: Uint8Array, peer: Address): Uint8Array | undefined;
}

const MAGIC = TunnelMagic.PLAINTEXT;

/** PILT: the 4-byte magic, then the packet (spec §3). For tests, trusted networks and interop checks. */
export class PlaintextCodec implements TunnelCodec {
  seal(packet: Uint8Array, _peer: Address): Uint8Array {
    // From Node's Buffer pool: see SealedCodec.sealTransient.
    const out = Buffer.allocUnsafe(4 + packet.length);
    out[0] = MAGIC >>> 24;
    out[1] = (MAGIC >>> 16) & 0xff;
    out[2] = (MAGIC >>> 8) & 0xff;
    out[3] = MAGIC & 0xff;
    out.set(packet, 4);
    return out;
  }

  /** `seal` copies the packet, so the driver may lend it its buffer. */
  sealTransient(packet: Uint8Array, peer: Address): Uint8Array {
    return this.seal(packet, peer);
  }

  open(frame: Uint8Array, _from: UdpAddress): Uint8Array | undefined {
    if (frame.length < 4) return undefined;
    const magic = ((frame[0]! << 24) | (frame[1]! << 16) | (frame[2]! << 8) | frame[3]!) >>> 0;
    return magic === MAGIC ? frame.subarray(4) : undefined;
  }
}
