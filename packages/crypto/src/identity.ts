import { randomBytes } from '@noble/hashes/utils.js';
import { checkBytes, checkUint8Array, copyBytes } from './_bytes.js';
import { ed25519StrictReject } from './_ed25519-strict.js';
import type { BackendOptions } from './backend.js';
import { CryptoErrorCode, cryptoError } from './errors.js';
import { getCryptoBackend } from './select-backend.js';

export const ED25519_SEED_SIZE = 32;
export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;

/**
 * A node's Ed25519 identity. `seed` is the RFC 8032 private key (32 bytes; Go calls seed ‖ public
 * the 64-byte private key); keep it secret. Treat both arrays as read-only.
 */
export interface Identity {
  readonly seed: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** A fresh identity from the platform's CSPRNG (crypto.getRandomValues). */
export function generateIdentity(options?: BackendOptions): Identity {
  return identityFromSeed(randomBytes(ED25519_SEED_SIZE), options);
}

/** The identity of a 32-byte seed; wrong length or type is CRYPTO_BAD_KEY. The seed is copied. */
export function identityFromSeed(seed: Uint8Array, options?: BackendOptions): Identity {
  checkBytes(seed, ED25519_SEED_SIZE, 'seed');
  const own = copyBytes(seed);
  return { seed: own, publicKey: copyBytes(getCryptoBackend(options?.backend).ed25519PublicKey(own)) };
}

function checkIdentity(identity: Identity): void {
  if (typeof identity !== 'object' || identity === null) {
    throw cryptoError(CryptoErrorCode.BAD_KEY, 'identity must be an object with seed and publicKey');
  }
  checkBytes(identity.seed, ED25519_SEED_SIZE, 'identity.seed');
  checkBytes(identity.publicKey, ED25519_PUBLIC_KEY_BYTES, 'identity.publicKey');
}

/** The 64-byte Ed25519 signature of `message` (deterministic: same bytes from either backend). */
export function sign(identity: Identity, message: Uint8Array, options?: BackendOptions): Uint8Array {
  checkIdentity(identity);
  checkUint8Array(message, 'message');
  return getCryptoBackend(options?.backend).ed25519Sign(identity.seed, message);
}

/**
 * Whether `signature` is `publicKey`'s signature of `message`. Never throws on bad input: a
 * signature or key of the wrong length or type, a non-canonical encoding, a small-order key or
 * S ≥ L all give false.
 */
export function verify(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
  options?: BackendOptions,
): boolean {
  if (
    !(signature instanceof Uint8Array) ||
    !(message instanceof Uint8Array) ||
    !(publicKey instanceof Uint8Array) ||
    signature.length !== ED25519_SIGNATURE_BYTES ||
    publicKey.length !== ED25519_PUBLIC_KEY_BYTES
  ) {
    return false;
  }
  if (ed25519StrictReject(signature, publicKey)) return false;
  return getCryptoBackend(options?.backend).ed25519Verify(signature, message, publicKey);
}

/** A verifier bound to one public key, for callers that check many signatures by the same node. */
export interface Verifier {
  readonly publicKey: Uint8Array;
  verify(signature: Uint8Array, message: Uint8Array): boolean;
}

/**
 * A verifier for `publicKey` (copied; wrong length is CRYPTO_BAD_KEY). On the node backend it
 * reuses one imported KeyObject, which saves the key import on every call.
 */
export function createVerifier(publicKey: Uint8Array, options?: BackendOptions): Verifier {
  checkBytes(publicKey, ED25519_PUBLIC_KEY_BYTES, 'publicKey');
  const own = copyBytes(publicKey);
  const backend = getCryptoBackend(options?.backend);
  return {
    publicKey: own,
    verify(signature, message) {
      if (
        !(signature instanceof Uint8Array) ||
        !(message instanceof Uint8Array) ||
        signature.length !== ED25519_SIGNATURE_BYTES
      ) {
        return false;
      }
      if (ed25519StrictReject(signature, own)) return false;
      return backend.ed25519Verify(signature, message, own);
    },
  };
}
