import { randomBytes } from '@noble/hashes/utils.js';
import { checkBytes, copyBytes } from './_bytes.js';
import type { BackendOptions } from './backend.js';
import { CryptoErrorCode, cryptoError } from './errors.js';
import { getCryptoBackend } from './select-backend.js';

export const X25519_KEY_SIZE = 32;
export const TUNNEL_KEY_SIZE = 32;
/** The HKDF info string of the tunnel key (reference §4.3); the salt is empty. */
export const TUNNEL_KEY_INFO = 'pilot-tunnel-v1';

const INFO_BYTES = new TextEncoder().encode(TUNNEL_KEY_INFO);
const EMPTY = new Uint8Array(0);

/** An X25519 key pair. The reference makes a fresh one at every daemon start. */
export interface X25519KeyPair {
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** A fresh X25519 key pair from the platform's CSPRNG. */
export function generateX25519KeyPair(options?: BackendOptions): X25519KeyPair {
  const privateKey = randomBytes(X25519_KEY_SIZE);
  return { privateKey, publicKey: x25519PublicKey(privateKey, options) };
}

/** The public key of a 32-byte X25519 private key (clamped as RFC 7748 says); else CRYPTO_BAD_KEY. */
export function x25519PublicKey(privateKey: Uint8Array, options?: BackendOptions): Uint8Array {
  checkBytes(privateKey, X25519_KEY_SIZE, 'privateKey');
  return copyBytes(getCryptoBackend(options?.backend).x25519PublicKey(privateKey));
}

/**
 * The raw X25519 shared secret. A peer key of low order (the all-zero result RFC 7748 §6.1 tells
 * implementations to check for) is CRYPTO_BAD_KEY, as are wrong lengths.
 */
export function x25519SharedSecret(
  ourPrivateKey: Uint8Array,
  peerPublicKey: Uint8Array,
  options?: BackendOptions,
): Uint8Array {
  checkBytes(ourPrivateKey, X25519_KEY_SIZE, 'ourPrivateKey');
  checkBytes(peerPublicKey, X25519_KEY_SIZE, 'peerPublicKey');
  const shared = getCryptoBackend(options?.backend).x25519(ourPrivateKey, peerPublicKey);
  if (shared === undefined) {
    throw cryptoError(CryptoErrorCode.BAD_KEY, 'peerPublicKey is a low-order point (all-zero shared secret)');
  }
  return shared;
}

/** RFC 5869 HKDF-SHA256. `length` at most 255 × 32 bytes. */
export function hkdfSha256(
  ikm: Uint8Array,
  salt: Uint8Array,
  info: Uint8Array,
  length: number,
  options?: BackendOptions,
): Uint8Array {
  if (!(ikm instanceof Uint8Array) || !(salt instanceof Uint8Array) || !(info instanceof Uint8Array)) {
    throw cryptoError(CryptoErrorCode.BAD_KEY, 'ikm, salt and info must be Uint8Arrays');
  }
  if (!Number.isInteger(length) || length < 1 || length > 255 * 32) {
    throw cryptoError(CryptoErrorCode.OUT_OF_RANGE, `HKDF-SHA256 length must be in 1..8160, got ${length}`);
  }
  return copyBytes(getCryptoBackend(options?.backend).hkdfSha256(ikm, salt, info, length));
}

/**
 * The AES-256-GCM key of a tunnel: HKDF-SHA256(X25519(our private, peer public), salt = empty,
 * info = "pilot-tunnel-v1", 32 bytes). Symmetric: both ends get the same key, used in both
 * directions. Bad lengths and low-order peer keys are CRYPTO_BAD_KEY.
 */
export function deriveTunnelKey(
  ourPrivateKey: Uint8Array,
  peerPublicKey: Uint8Array,
  options?: BackendOptions,
): Uint8Array {
  const shared = x25519SharedSecret(ourPrivateKey, peerPublicKey, options);
  const key = getCryptoBackend(options?.backend).hkdfSha256(shared, EMPTY, INFO_BYTES, TUNNEL_KEY_SIZE);
  shared.fill(0);
  return copyBytes(key);
}
