// The two backends must be interchangeable: byte-identical outputs on random inputs, and each
// opens/verifies what the other produced.
import { propertyOptions, toHex } from '@pilot/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createTunnelOpener,
  createTunnelSealer,
  deriveTunnelKey,
  getCryptoBackend,
  hkdfSha256,
  identityFromSeed,
  sign,
  verify,
  x25519PublicKey,
} from '../src/index.js';

const key32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const node = getCryptoBackend('node');
const noble = getCryptoBackend('noble');

describe('node and noble backends agree', () => {
  it('AES-256-GCM: same ciphertext and tag, and each opens the other', () => {
    fc.assert(
      fc.property(
        key32,
        fc.uint8Array({ minLength: 12, maxLength: 12 }),
        fc.uint8Array({ maxLength: 64 }),
        fc.uint8Array({ maxLength: 3000 }),
        (key, nonce, aad, plaintext) => {
          const a = new Uint8Array(plaintext.length + 16);
          const b = new Uint8Array(plaintext.length + 16);
          node.aes256Gcm(key).sealInto(nonce, aad, plaintext, a, 0);
          noble.aes256Gcm(key).sealInto(nonce, aad, plaintext, b, 0);
          expect(toHex(a)).toBe(toHex(b));
          expect(toHex(noble.aes256Gcm(key).open(nonce, aad, a)!)).toBe(toHex(plaintext));
          expect(toHex(node.aes256Gcm(key).open(nonce, aad, b)!)).toBe(toHex(plaintext));
        },
      ),
      propertyOptions(300),
    );
  });

  it('AES-256-GCM: both refuse the same tampering', () => {
    fc.assert(
      fc.property(
        key32,
        fc.uint8Array({ minLength: 1, maxLength: 200 }),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        (key, plaintext, at, bit) => {
          const nonce = new Uint8Array(12).fill(7);
          const aad = Uint8Array.of(0, 0, 0, 9);
          const sealed = new Uint8Array(plaintext.length + 16);
          node.aes256Gcm(key).sealInto(nonce, aad, plaintext, sealed, 0);
          const i = at % sealed.length;
          sealed[i] = sealed[i]! ^ (1 << bit);
          expect(node.aes256Gcm(key).open(nonce, aad, sealed)).toBeUndefined();
          expect(noble.aes256Gcm(key).open(nonce, aad, sealed)).toBeUndefined();
        },
      ),
      propertyOptions(200),
    );
  });

  it('PILS frames: a node sealer and a noble opener (and the reverse) interoperate', () => {
    fc.assert(
      fc.property(
        key32,
        fc.nat({ max: 0xffff_ffff }),
        fc.array(fc.uint8Array({ minLength: 34, maxLength: 1500 }), { minLength: 1, maxLength: 5 }),
        (key, sender, packets) => {
          const prefix = Uint8Array.of(9, 8, 7, 6);
          const s1 = createTunnelSealer({ key, senderNode: sender, prefix, backend: 'node' });
          const s2 = createTunnelSealer({ key, senderNode: sender, prefix, backend: 'noble' });
          const o1 = createTunnelOpener({ key, peerNode: sender, backend: 'noble' });
          const o2 = createTunnelOpener({ key, peerNode: sender, backend: 'node' });
          for (const packet of packets) {
            const f1 = s1.seal(packet);
            expect(toHex(s2.seal(packet))).toBe(toHex(f1));
            expect(toHex(o1.open(f1))).toBe(toHex(packet));
            expect(toHex(o2.open(f1))).toBe(toHex(packet));
          }
        },
      ),
      propertyOptions(100),
    );
  });

  it('HKDF-SHA256', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 100 }),
        fc.uint8Array({ maxLength: 100 }),
        fc.uint8Array({ maxLength: 100 }),
        fc.integer({ min: 1, max: 255 * 32 }),
        (ikm, salt, info, length) => {
          expect(toHex(hkdfSha256(ikm, salt, info, length, { backend: 'node' }))).toBe(
            toHex(hkdfSha256(ikm, salt, info, length, { backend: 'noble' })),
          );
        },
      ),
      propertyOptions(200),
    );
  });

  it('X25519 public keys and tunnel keys (any 32-byte scalars and u-coordinates)', () => {
    fc.assert(
      fc.property(key32, key32, (ours, peerU) => {
        expect(toHex(x25519PublicKey(ours, { backend: 'node' }))).toBe(
          toHex(x25519PublicKey(ours, { backend: 'noble' })),
        );
        const viaNode = deriveTunnelKey(ours, peerU, { backend: 'node' });
        expect(toHex(deriveTunnelKey(ours, peerU, { backend: 'noble' }))).toBe(toHex(viaNode));
      }),
      propertyOptions(60),
    );
  });

  it('X25519 is symmetric: both ends derive the same tunnel key', () => {
    fc.assert(
      fc.property(key32, key32, (a, b) => {
        const keyA = deriveTunnelKey(a, x25519PublicKey(b), { backend: 'node' });
        const keyB = deriveTunnelKey(b, x25519PublicKey(a), { backend: 'noble' });
        expect(toHex(keyA)).toBe(toHex(keyB));
      }),
      propertyOptions(40),
    );
  });

  it('Ed25519: same public keys and signatures; each verifies the other', () => {
    fc.assert(
      fc.property(key32, fc.uint8Array({ maxLength: 300 }), (seed, message) => {
        const a = identityFromSeed(seed, { backend: 'node' });
        const b = identityFromSeed(seed, { backend: 'noble' });
        expect(toHex(a.publicKey)).toBe(toHex(b.publicKey));
        const sigA = sign(a, message, { backend: 'node' });
        expect(toHex(sign(b, message, { backend: 'noble' }))).toBe(toHex(sigA));
        expect(verify(sigA, message, a.publicKey, { backend: 'noble' })).toBe(true);
        expect(verify(sigA, message, a.publicKey, { backend: 'node' })).toBe(true);
      }),
      propertyOptions(60),
    );
  });

  it('Ed25519: both reject the same corrupted signatures, messages and keys', () => {
    const identity = identityFromSeed(new Uint8Array(32).fill(3));
    const message = new TextEncoder().encode('register:42');
    const signature = sign(identity, message);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 127 }),
        fc.integer({ min: 0, max: 7 }),
        fc.constantFrom('sig', 'key', 'msg'),
        (at, bit, what) => {
          const sig = signature.slice();
          const pub = identity.publicKey.slice();
          const msg = message.slice();
          const target = what === 'sig' ? sig : what === 'key' ? pub : msg;
          const i = at % target.length;
          target[i] = target[i]! ^ (1 << bit);
          const viaNode = verify(sig, msg, pub, { backend: 'node' });
          expect(verify(sig, msg, pub, { backend: 'noble' })).toBe(viaNode);
          expect(viaNode).toBe(false);
        },
      ),
      propertyOptions(150),
    );
  });

  it('Ed25519: random signatures and keys get the same (false) answer from both', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 64, maxLength: 64 }),
        key32,
        fc.uint8Array({ maxLength: 40 }),
        (sig, pub, msg) => {
          expect(verify(sig, msg, pub, { backend: 'node' })).toBe(
            verify(sig, msg, pub, { backend: 'noble' }),
          );
        },
      ),
      propertyOptions(100),
    );
  });
});
