import { ENCRYPTED_HEADER_SIZE, ENCRYPTED_MIN_SIZE, GCM_TAG_SIZE, TunnelMagic } from '@pilot/wire';
import { checkBytes, checkU32, readU32 } from './_bytes.js';
import { joinCounter } from './_counter.js';
import type { Aead, BackendName } from './backend.js';
import type { ContextBudget } from './context-budget.js';
import { CryptoErrorCode, cryptoError } from './errors.js';
import { TUNNEL_KEY_SIZE } from './key-agreement.js';
import { ReplayWindow } from './replay-window.js';
import { getCryptoBackend } from './select-backend.js';

/** Options of `createTunnelOpener`. */
export interface TunnelOpenerOptions {
  /** The 32-byte tunnel key (`deriveTunnelKey`); may be omitted when `aead` is given. */
  readonly key?: Uint8Array;
  /** The key's AES-256-GCM instance, shared with the tunnel's sealer (see `TunnelSealerOptions.aead`). */
  readonly aead?: Aead;
  /**
   * The peer's node ID. Frames naming another sender are refused: the key is shared by both
   * directions, so without this check our own frames reflected back at us would open.
   */
  readonly peerNode: number;
  readonly backend?: BackendName;
  /** Shared bound on live native cipher contexts (see `ContextBudget`); none by default. */
  readonly contexts?: ContextBudget | undefined;
}

/** What `openFrame` returns. */
export interface OpenedFrame {
  readonly senderNode: number;
  /** The frame's nonce counter (now marked as seen). */
  readonly counter: bigint;
  /** The 34-byte header + payload, as sealed. */
  readonly plaintext: Uint8Array;
}

/** Opens the PILS frames of one peer, with replay protection. */
export interface TunnelOpener {
  readonly peerNode: number;
  /** The highest counter accepted so far (0n before the first frame). */
  readonly maxCounter: bigint;
  /** The plaintext of a PILS frame; see `openFrame`. */
  open(frame: Uint8Array): Uint8Array;
  /**
   * `open`, decrypting in place: the plaintext returned is a view of `frame`'s own bytes, which
   * no longer hold the ciphertext afterwards (even when authentication fails). Saves a copy and an
   * allocation per frame for a caller that owns the frame and tries no other key on it.
   */
  openInPlace(frame: Uint8Array): Uint8Array;
  /**
   * Opens a PILS datagram, in this order: layout (CRYPTO_BAD_FRAME), sender (CRYPTO_UNEXPECTED_SENDER),
   * replay window (CRYPTO_REPLAY, nothing recorded), AES-GCM with the sender ID as AAD
   * (CRYPTO_BAD_TAG, nothing recorded), and only then marks the counter as seen. A forged or
   * corrupted frame therefore never changes the window.
   */
  openFrame(frame: Uint8Array): OpenedFrame;
  /** Frees the native cipher context (an idle tunnel); the next frame makes it again. */
  release(): void;
}

/** An opener for one peer. Bad key length is CRYPTO_BAD_KEY; a node ID outside u32, CRYPTO_OUT_OF_RANGE. */
export function createTunnelOpener(options: TunnelOpenerOptions): TunnelOpener {
  if (options.aead === undefined) checkBytes(options.key, TUNNEL_KEY_SIZE, 'key');
  checkU32(options.peerNode, 'peerNode');
  return new Opener(options);
}

// A class for the same reason as the sealer's: one per peer in a daemon, so no per-instance closures.
class Opener implements TunnelOpener {
  readonly peerNode: number;
  readonly #aead: Aead;
  readonly #window = new ReplayWindow();
  readonly #contexts: ContextBudget | undefined;
  // The counter of the frame last opened, kept as halves so that `open` allocates no BigInt.
  #lastHi = 0;
  #lastLo = 0;

  constructor(options: TunnelOpenerOptions) {
    this.peerNode = options.peerNode;
    this.#aead = options.aead ?? getCryptoBackend(options.backend).aes256Gcm(options.key as Uint8Array);
    this.#contexts = options.contexts;
  }

  get maxCounter(): bigint {
    return this.#window.max;
  }

  open(frame: Uint8Array): Uint8Array {
    return this.#openPlaintext(frame, false);
  }

  openInPlace(frame: Uint8Array): Uint8Array {
    return this.#openPlaintext(frame, true);
  }

  openFrame(frame: Uint8Array): OpenedFrame {
    const plaintext = this.#openPlaintext(frame, false);
    return { senderNode: this.peerNode, counter: joinCounter(this.#lastHi, this.#lastLo), plaintext };
  }

  release(): void {
    if (this.#contexts === undefined) this.#aead.release?.();
    else this.#contexts.forget(this.#aead);
  }

  #openPlaintext(frame: Uint8Array, inPlace: boolean): Uint8Array {
    if (!(frame instanceof Uint8Array)) {
      throw cryptoError(CryptoErrorCode.BAD_FRAME, 'a PILS frame must be a Uint8Array');
    }
    if (frame.length < ENCRYPTED_MIN_SIZE) {
      throw cryptoError(
        CryptoErrorCode.BAD_FRAME,
        `a PILS frame needs at least ${ENCRYPTED_MIN_SIZE} bytes, got ${frame.length}`,
      );
    }
    const magic = readU32(frame, 0);
    if (magic !== TunnelMagic.ENCRYPTED) {
      throw cryptoError(
        CryptoErrorCode.BAD_FRAME,
        `expected PILS, got magic 0x${magic.toString(16).padStart(8, '0')}`,
      );
    }
    const senderNode = readU32(frame, 4);
    if (senderNode !== this.peerNode) {
      throw cryptoError(
        CryptoErrorCode.UNEXPECTED_SENDER,
        `PILS frame from node ${senderNode} given to the opener of node ${this.peerNode}`,
      );
    }
    const hi = readU32(frame, 12);
    const lo = readU32(frame, 16);
    if (!this.#window.checkSplit(hi, lo)) {
      throw cryptoError(
        CryptoErrorCode.REPLAY,
        `counter ${joinCounter(hi, lo)} replayed, zero, or below the window`,
      );
    }
    const nonce = frame.subarray(8, ENCRYPTED_HEADER_SIZE);
    const aad = frame.subarray(4, 8);
    const sealed = frame.subarray(ENCRYPTED_HEADER_SIZE);
    const aead = this.#aead;
    this.#contexts?.use(aead);
    // In place, the nonce and AAD sit before the bytes being overwritten, so they stay intact.
    const plaintext = inPlace
      ? aead.openInto(nonce, aad, sealed, frame, ENCRYPTED_HEADER_SIZE)
        ? frame.subarray(ENCRYPTED_HEADER_SIZE, frame.length - GCM_TAG_SIZE)
        : undefined
      : aead.open(nonce, aad, sealed);
    if (plaintext === undefined) {
      throw cryptoError(CryptoErrorCode.BAD_TAG, 'PILS frame failed authentication');
    }
    this.#window.markSplit(hi, lo);
    this.#lastHi = hi;
    this.#lastLo = lo;
    return plaintext;
  }
}
