import { ENCRYPTED_HEADER_SIZE, encodeEncryptedFrameHeaderInto, GCM_TAG_SIZE } from '@pilot/wire';
import { checkBytes, checkU32, checkUint8Array } from './_bytes.js';
import type { Aead, BackendName } from './backend.js';
import { TUNNEL_KEY_SIZE } from './key-agreement.js';
import { NONCE_BYTES, NonceSequence } from './nonce-sequence.js';
import { getCryptoBackend } from './select-backend.js';

/** Bytes a PILS frame adds to the packet it seals: magic, sender node, nonce, GCM tag. */
export const SEALED_FRAME_OVERHEAD: number = ENCRYPTED_HEADER_SIZE + GCM_TAG_SIZE;

/** Options of `createTunnelSealer`. */
export interface TunnelSealerOptions {
  /** The 32-byte tunnel key (`deriveTunnelKey`). */
  readonly key: Uint8Array;
  /** Our node ID: written in every frame and authenticated as the AAD. */
  readonly senderNode: number;
  /** The 4-byte nonce prefix; random by default, and it should be: see the README on nonces. */
  readonly prefix?: Uint8Array;
  /** The first counter (default 1), for tests and vectors. */
  readonly firstCounter?: number | bigint;
  readonly backend?: BackendName;
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
}

/** A sealer for one tunnel direction. Bad key length is CRYPTO_BAD_KEY; a node ID outside u32, CRYPTO_OUT_OF_RANGE. */
export function createTunnelSealer(options: TunnelSealerOptions): TunnelSealer {
  checkBytes(options.key, TUNNEL_KEY_SIZE, 'key');
  checkU32(options.senderNode, 'senderNode');
  const senderNode = options.senderNode;
  const aead: Aead = getCryptoBackend(options.backend).aes256Gcm(options.key);
  const nonces = new NonceSequence({
    ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
    ...(options.firstCounter === undefined ? {} : { firstCounter: options.firstCounter }),
  });
  const nonce = new Uint8Array(NONCE_BYTES);
  return {
    senderNode,
    get prefix() {
      return nonces.prefix;
    },
    get nextCounter() {
      return nonces.nextCounter;
    },
    seal(packet) {
      checkUint8Array(packet, 'packet');
      nonces.nextInto(nonce, 0);
      const frame = new Uint8Array(ENCRYPTED_HEADER_SIZE + packet.length + GCM_TAG_SIZE);
      encodeEncryptedFrameHeaderInto(senderNode, nonce, frame, 0);
      aead.sealInto(nonce, frame.subarray(4, 8), packet, frame, ENCRYPTED_HEADER_SIZE);
      return frame;
    },
  };
}
