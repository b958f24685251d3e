import {
  type Aead,
  type ContextBudget,
  CryptoErrorCode,
  createTunnelOpener,
  createTunnelSealer,
  deriveTunnelKey,
  getCryptoBackend,
  type TunnelOpener,
  type TunnelSealer,
} from '@pilot/crypto';
import { isPilotError } from '@pilot/wire';

/** Active nonce prefixes kept per peer (frames of an older prefix may still be in flight). */
const ACTIVE_PREFIXES = 4;
/** Prefixes once seen and since evicted: never accepted again, so old frames cannot be replayed. */
const RETIRED_PREFIXES = 256;

export type OpenOutcome =
  | { readonly ok: true; readonly plaintext: Uint8Array }
  | { readonly ok: false; readonly reason: 'replay' | 'bad_tag' | 'bad_frame' };

/**
 * The keys of one tunnel: our sealer (one random nonce prefix for the life of the key) and one
 * opener per nonce prefix the peer uses. A reference peer picks a new prefix and restarts its
 * counter at 1 whenever it re-derives its state (on every PILA it receives), so one replay window
 * per prefix is what keeps such a peer working (the "recv epochs" of the newest upstream); prefixes
 * evicted from the active set are remembered so that their frames cannot be replayed later.
 */
/** What a failed open tells the caller; anything that is not a PilotError is a bug and is rethrown. */
export function openFailure(error: unknown): OpenOutcome {
  if (isPilotError(error, CryptoErrorCode.REPLAY)) return { ok: false, reason: 'replay' };
  if (isPilotError(error, CryptoErrorCode.BAD_TAG)) return { ok: false, reason: 'bad_tag' };
  if (isPilotError(error)) return { ok: false, reason: 'bad_frame' };
  throw error;
}

export class PeerCrypto {
  /**
   * The peer's X25519 key as a one-byte string (48 bytes on the heap; a Uint8Array of 32 bytes costs
   * ~230 with its ArrayBuffer): it is read only when a PILA arrives, to see whether the key changed.
   */
  private readonly peerKey: string;
  /**
   * The key's one AES-GCM instance, shared by the sealer and every opener (the static key is the
   * same both ways): no key bytes kept here, one native key per tunnel.
   */
  private readonly aead: Aead;
  private readonly peerNode: number;
  private sealer: TunnelSealer;
  /** Shared bound on live cipher contexts (the tunnel's): an idle tunnel keeps only its key bytes. */
  private readonly contexts: ContextBudget | undefined;
  /**
   * The opener of the peer's first nonce prefix, and a Map by prefix (frame bytes 8..12 as a u32: no
   * string per frame) made only once a peer shows a second prefix (a reference peer that re-derived):
   * most tunnels keep one prefix, and an empty Map costs an idle tunnel about 300 bytes.
   */
  private first: TunnelOpener | undefined;
  private firstPrefix = -1;
  private openers: Map<number, TunnelOpener> | undefined;
  /** Made when a first prefix is evicted (most peers never change prefix: no Set per idle tunnel). */
  private retired: Set<number> | undefined;
  /** Consecutive frames that failed to open (a peer that lost our key, or garbage). */
  failures = 0;

  constructor(
    ourPrivate: Uint8Array,
    peerX25519: Uint8Array,
    ourNode: number,
    peerNode: number,
    contexts?: ContextBudget,
  ) {
    this.peerKey = String.fromCharCode(...peerX25519);
    this.aead = getCryptoBackend().aes256Gcm(deriveTunnelKey(ourPrivate, peerX25519));
    this.peerNode = peerNode;
    this.contexts = contexts;
    this.sealer = createTunnelSealer({ aead: this.aead, senderNode: ourNode, contexts });
  }

  /** The peer's X25519 public key (a new array: PILA handling only). */
  get peerX25519(): Uint8Array {
    return Uint8Array.from(this.peerKey, (char) => char.charCodeAt(0));
  }

  /** The static key seals from the start. */
  get ready(): boolean {
    return true;
  }

  /** Our node ID changed (registration): later frames carry the new sender ID. */
  setOurNode(ourNode: number): void {
    if (this.sealer.senderNode !== ourNode) {
      this.sealer = createTunnelSealer({ aead: this.aead, senderNode: ourNode, contexts: this.contexts });
    }
  }

  seal(packet: Uint8Array): Uint8Array {
    return this.sealer.seal(packet);
  }

  /** `seal` into `out` at `offset` (packet length + SEALED_FRAME_OVERHEAD bytes), returning the frame's length. */
  sealInto(packet: Uint8Array, out: Uint8Array, offset: number): number {
    return this.sealer.sealInto(packet, out, offset);
  }

  /**
   * Opens a PILS frame. With `inPlace` the plaintext is written over the ciphertext (a view of
   * `frame` is returned, and the frame is garbage afterwards even when it fails): only for a caller
   * that owns the frame and reads it no more.
   */
  open(frame: Uint8Array, inPlace = false): OpenOutcome {
    if (frame.length < 36) return { ok: false, reason: 'bad_frame' };
    const prefix = ((frame[8]! << 24) | (frame[9]! << 16) | (frame[10]! << 8) | frame[11]!) >>> 0;
    if (this.retired?.has(prefix)) return { ok: false, reason: 'replay' };
    const known = prefix === this.firstPrefix ? this.first : this.openers?.get(prefix);
    const opener =
      known ?? createTunnelOpener({ aead: this.aead, peerNode: this.peerNode, contexts: this.contexts });
    try {
      const plaintext = inPlace ? opener.openInPlace(frame) : opener.open(frame);
      if (known === undefined) this.adopt(prefix, opener);
      this.failures = 0;
      return { ok: true, plaintext };
    } catch (error) {
      this.failures++;
      // A trial opener owns nothing (the cipher is the tunnel's): nothing to release, and a forged
      // frame under a new prefix does not make us rebuild the cipher contexts.
      return openFailure(error);
    }
  }

  /** The tunnel is gone or re-keyed: free the cipher contexts now rather than at GC. */
  release(): void {
    // The sealer's release frees the one cipher that the openers share.
    this.sealer.release();
  }

  private adopt(prefix: number, opener: TunnelOpener): void {
    if (this.openers === undefined && this.first === undefined) {
      this.first = opener;
      this.firstPrefix = prefix;
      return;
    }
    if (this.openers === undefined) {
      this.openers = new Map(this.first === undefined ? [] : [[this.firstPrefix, this.first]]);
      this.first = undefined;
      this.firstPrefix = -1;
    }
    this.openers.set(prefix, opener);
    while (this.openers.size > ACTIVE_PREFIXES) {
      const oldest = this.openers.keys().next().value;
      if (oldest === undefined) break;
      this.openers.delete(oldest);
      this.retired ??= new Set();
      this.retired.add(oldest);
    }
    while (this.retired !== undefined && this.retired.size > RETIRED_PREFIXES) {
      const oldest = this.retired.values().next().value;
      if (oldest === undefined) break;
      this.retired.delete(oldest);
    }
  }
}
