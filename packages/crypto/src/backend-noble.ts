import { gcm } from '@noble/ciphers/aes.js';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { copyBytes, isAllZero } from './_bytes.js';
import type { Aead, CryptoBackend } from './backend.js';

const STRICT = { zip215: false } as const;

function nobleAead(key: Uint8Array): Aead {
  // noble re-expands the key schedule on every call (its API is one cipher object per nonce), which
  // is most of why it is ten times slower than OpenSSL on small frames.
  const keyCopy = copyBytes(key);
  return {
    sealInto(nonce, aad, plaintext, out, outOffset) {
      out.set(gcm(keyCopy, nonce, aad).encrypt(plaintext), outOffset);
    },
    open(nonce, aad, sealed) {
      try {
        return gcm(keyCopy, nonce, aad).decrypt(sealed);
      } catch {
        return undefined;
      }
    },
    openInto(nonce, aad, sealed, out, outOffset) {
      let plaintext: Uint8Array;
      try {
        plaintext = gcm(keyCopy, nonce, aad).decrypt(sealed);
      } catch {
        return false;
      }
      out.set(plaintext, outOffset);
      return true;
    },
  };
}

/** The pure-JS backend (@noble/curves, @noble/ciphers, @noble/hashes): runs everywhere. */
export const nobleBackend: CryptoBackend = {
  name: 'noble',
  ed25519PublicKey: (seed) => ed25519.getPublicKey(seed),
  ed25519Sign: (seed, message) => ed25519.sign(message, seed),
  ed25519Verify: (signature, message, publicKey) => {
    try {
      return ed25519.verify(signature, message, publicKey, STRICT);
    } catch {
      return false;
    }
  },
  x25519PublicKey: (privateKey) => x25519.getPublicKey(privateKey),
  x25519: (privateKey, publicKey) => {
    let shared: Uint8Array;
    try {
      shared = x25519.getSharedSecret(privateKey, publicKey);
    } catch {
      // noble refuses an all-zero result (a low-order peer key) by throwing.
      return undefined;
    }
    return isAllZero(shared) ? undefined : shared;
  },
  hkdfSha256: (ikm, salt, info, length) => hkdf(sha256, ikm, salt, info, length),
  aes256Gcm: nobleAead,
};
