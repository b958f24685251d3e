// The node:crypto (OpenSSL) backend. It never imports node:crypto itself: `createNodeBackend` is
// handed the module (see _node-crypto.ts), so the default entry stays loadable in a browser.
//
// Raw keys enter OpenSSL as JWK, about 16x faster than DER here. Importing a *private* key costs a
// scalar multiplication (node recomputes the public half), so the KeyObjects of private keys (ours:
// a few per process) are memoised per key array; a memo entry also keeps a copy of the bytes it was made from, and is
// rebuilt when the caller has changed the array in place.
import type * as NodeCrypto from 'node:crypto';
import { copyBytes, isAllZero } from './_bytes.js';
import type { Aead, CryptoBackend } from './backend.js';

type NodeCryptoModule = typeof NodeCrypto;

const ZERO_X = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/** A plain Uint8Array view of a Buffer node:crypto just allocated (those are never pool slices). */
function plain(buffer: Uint8Array): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

interface Memo {
  readonly bytes: Uint8Array;
  readonly key: NodeCrypto.KeyObject;
}

function memoised(
  make: (bytes: Uint8Array) => NodeCrypto.KeyObject,
): (bytes: Uint8Array) => NodeCrypto.KeyObject {
  const memo = new WeakMap<Uint8Array, Memo>();
  return (bytes) => {
    const hit = memo.get(bytes);
    if (hit !== undefined && sameBytes(hit.bytes, bytes)) return hit.key;
    const key = make(bytes);
    // copyBytes, not slice(): Buffer.prototype.slice returns a view, which would always match.
    memo.set(bytes, { bytes: copyBytes(bytes), key });
    return key;
  };
}

function publicBytes(key: NodeCrypto.KeyObject): Uint8Array {
  const x = key.export({ format: 'jwk' }).x;
  if (typeof x !== 'string') throw new Error('node:crypto exported an OKP key without x');
  return plain(Buffer.from(x, 'base64url'));
}

function nodeAead(nc: NodeCryptoModule, rawKey: Uint8Array): Aead {
  const key = nc.createSecretKey(rawKey);
  const open = (nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined => {
    const split = sealed.length - 16;
    if (split < 0) return undefined;
    const decipher = nc.createDecipheriv('aes-256-gcm', key, nonce);
    decipher.setAAD(aad);
    decipher.setAuthTag(sealed.subarray(split));
    const body = decipher.update(sealed.subarray(0, split));
    try {
      decipher.final();
    } catch {
      return undefined;
    }
    return plain(body);
  };
  return {
    sealInto(nonce, aad, plaintext, out, outOffset) {
      const cipher = nc.createCipheriv('aes-256-gcm', key, nonce);
      cipher.setAAD(aad);
      const body = cipher.update(plaintext);
      cipher.final();
      out.set(body, outOffset);
      out.set(cipher.getAuthTag(), outOffset + body.length);
    },
    open,
    openInto(nonce, aad, sealed, out, outOffset) {
      const plaintext = open(nonce, aad, sealed);
      if (plaintext === undefined) return false;
      out.set(plaintext, outOffset);
      return true;
    },
  };
}

/** The backend over a node:crypto module (Node ≥ 20; Deno and Bun provide it too). */
export function createNodeBackend(nc: NodeCryptoModule): CryptoBackend {
  const importPrivate = (crv: 'Ed25519' | 'X25519') =>
    memoised((d) =>
      nc.createPrivateKey({ key: { kty: 'OKP', crv, d: b64url(d), x: ZERO_X }, format: 'jwk' }),
    );
  // Public keys are not memoised: importing one is cheap (no scalar multiplication), and a memo
  // entry lived as long as the caller's array, so a daemon that keeps 10 000 peers' keys kept 10 000
  // OpenSSL key objects (about 1 KB each) for signatures it checks once per key exchange.
  const importPublic =
    (crv: 'Ed25519' | 'X25519') =>
    (x: Uint8Array): NodeCrypto.KeyObject =>
      nc.createPublicKey({ key: { kty: 'OKP', crv, x: b64url(x) }, format: 'jwk' });
  const edPrivate = importPrivate('Ed25519');
  const edPublic = importPublic('Ed25519');
  const xPrivate = importPrivate('X25519');
  const xPublic = importPublic('X25519');

  return {
    name: 'node',
    ed25519PublicKey: (seed) => publicBytes(edPrivate(seed)),
    ed25519Sign: (seed, message) => plain(nc.sign(null, message, edPrivate(seed))),
    ed25519Verify: (signature, message, publicKey) => {
      try {
        return nc.verify(null, message, edPublic(publicKey), signature);
      } catch {
        return false;
      }
    },
    x25519PublicKey: (privateKey) => publicBytes(xPrivate(privateKey)),
    x25519: (privateKey, publicKey) => {
      let shared: Uint8Array;
      try {
        shared = plain(nc.diffieHellman({ privateKey: xPrivate(privateKey), publicKey: xPublic(publicKey) }));
      } catch {
        // OpenSSL fails the derivation when the result is all zero (a low-order peer key).
        return undefined;
      }
      return isAllZero(shared) ? undefined : shared;
    },
    hkdfSha256: (ikm, salt, info, length) => new Uint8Array(nc.hkdfSync('sha256', ikm, salt, info, length)),
    aes256Gcm: (key) => nodeAead(nc, key),
  };
}
