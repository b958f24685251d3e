import { ENCRYPTED_HEADER_SIZE, encodeEncryptedFrameHeaderInto, GCM_TAG_SIZE } from '@pilot/wire';
import { checkBytes, checkU32, checkUint8Array } from './_bytes.js';
import type { Aead, BackendName } from './backend.js';
import type { ContextBudget } from './context-budget.js';
import { CryptoErrorCode, cryptoError } from './errors.js';
import { TUNNEL_KEY_SIZE } from './key-agreement.js';
import { NONCE_BYTES, NonceSequence } from './nonce-sequence.js';
import { getCryptoBackend } from './select-backend.js';

/** Bytes a PILS frame adds to the packet it seals: magic, sender node, nonce, GCM tag. */
export const SEALED_FRAME_OVERHEAD: number = ENCRYPTED_HEADER_SIZE + GCM_TAG_SIZE;

/** Options of `createTunnelSealer`. */
export interface TunnelSealerOptions {
  /** The 32-byte tunnel key (`deriveTunnelKey`); may be omitted when `aead` is given. */
  readonly key?: Uint8Array;
  /**
   * The key's AES-256-GCM instance (`getCryptoBackend().aes256Gcm(key)`), to share one between a
   * tunnel's sealer and its openers (the static key seals and opens): one native key and context
   * pair per tunnel instead of one per direction. Made from `key` when omitted.
   */
  readonly aead?: Aead;
  /** Our node ID: written in every frame and authenticated as the AAD. */
  readonly senderNode: number;
  /** The 4-byte nonce prefix; random by default, and it should be: see the README on nonces. */
  readonly prefix?: Uint8Array;
  /** The first counter (default 1), for tests and vectors. */
  readonly firstCounter?: number | bigint;
  readonly backend?: BackendName;
  /** Shared bound on live native cipher contexts (see `ContextBudget`); none by default. */
  readonly contexts?: ContextBudget | undefined;
}

/** Seals packets into PILS frames for one peer. */
export interface TunnelSealer {
  readonly senderNode: number;
  /** The nonce prefix this sealer uses (a copy). */
  readonly prefix: Uint8Array;
  /** The counter of the next frame; undefined once exhausted. */
  readonly nextCounter: bigint | undefined;
  /**
   * The PILS datagram carrying `packet` (a marshalled 34-byte header + payload, though any bytes
   * are sealed as given): `"PILS" ‖ u32 senderNode ‖ nonce (12) ‖ ciphertext ‖ tag (16)`.
   * CRYPTO_NONCE_EXHAUSTED after 2^64 - 1 frames.
   */
  seal(packet: Uint8Array): Uint8Array;
  /**
   * `seal` into `out` at `offset` (which needs `packet.length + SEALED_FRAME_OVERHEAD` bytes there),
   * returning the frame's length: lets a caller allocate frames from its own pool. A short `out` is
   * CRYPTO_BAD_INPUT, checked before a nonce is used.
   */
  sealInto(packet: Uint8Array, out: Uint8Array, offset: number): number;
  /** Frees the native cipher context (an idle tunnel); the next frame makes it again. */
  release(): void;
}

/** A sealer for one tunnel direction. Bad key length is CRYPTO_BAD_KEY; a node ID outside u32, CRYPTO_OUT_OF_RANGE. */
export function createTunnelSealer(options: TunnelSealerOptions): TunnelSealer {
  if (options.aead === undefined) checkBytes(options.key, TUNNEL_KEY_SIZE, 'key');
  checkU32(options.senderNode, 'senderNode');
  return new Sealer(options);
}

/**
 * The nonce of the frame being sealed, shared by every sealer: it is written, copied into the frame
 * and handed to the cipher within one synchronous call, so nothing of it outlives `#sealAt`. A buffer
 * per sealer cost every tunnel ~300 bytes (the cipher's native call moves a small array off-heap).
 */
const NONCE_SCRATCH = new Uint8Array(NONCE_BYTES);

// A class rather than closures over a literal: a daemon holds one per peer, and closures plus
// accessors cost each instance its own functions, context and hidden class (about 1 KB a tunnel).
class Sealer implements TunnelSealer {
  readonly senderNode: number;
  readonly #aead: Aead;
  readonly #nonces: NonceSequence;
  readonly #contexts: ContextBudget | undefined;

  constructor(options: TunnelSealerOptions) {
    this.senderNode = options.senderNode;
    this.#aead = options.aead ?? getCryptoBackend(options.backend).aes256Gcm(options.key as Uint8Array);
    this.#nonces = new NonceSequence({
      ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
      ...(options.firstCounter === undefined ? {} : { firstCounter: options.firstCounter }),
    });
    this.#contexts = options.contexts;
  }

  get prefix(): Uint8Array {
    return this.#nonces.prefix;
  }

  get nextCounter(): bigint | undefined {
    return this.#nonces.nextCounter;
  }

  seal(packet: Uint8Array): Uint8Array {
    checkUint8Array(packet, 'packet');
    const frame = new Uint8Array(ENCRYPTED_HEADER_SIZE + packet.length + GCM_TAG_SIZE);
    this.#sealAt(packet, frame, 0);
    return frame;
  }

  sealInto(packet: Uint8Array, out: Uint8Array, offset: number): number {
    checkUint8Array(packet, 'packet');
    checkUint8Array(out, 'out');
    const length = ENCRYPTED_HEADER_SIZE + packet.length + GCM_TAG_SIZE;
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + length > out.length) {
      throw cryptoError(
        CryptoErrorCode.BAD_INPUT,
        `a ${length}-byte frame does not fit in ${out.length} bytes at offset ${offset}`,
      );
    }
    this.#sealAt(packet, out, offset);
    return length;
  }

  release(): void {
    if (this.#contexts === undefined) this.#aead.release?.();
    else this.#contexts.forget(this.#aead);
  }

  #sealAt(packet: Uint8Array, out: Uint8Array, at: number): void {
    const aead = this.#aead;
    const nonce = NONCE_SCRATCH;
    this.#contexts?.use(aead);
    this.#nonces.nextInto(nonce, 0);
    encodeEncryptedFrameHeaderInto(this.senderNode, nonce, out, at);
    aead.sealInto(nonce, out.subarray(at + 4, at + 8), packet, out, at + ENCRYPTED_HEADER_SIZE);
  }
}
