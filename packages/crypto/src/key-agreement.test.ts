import { ED25519_TORSION_SUBGROUP } from '@noble/curves/ed25519.js';
import { fromHex, toHex } from '@pilot/testkit';
import { describe, expect, it } from 'vitest';
import { BACKENDS, codeOf } from '../test/helpers.js';
import {
  deriveTunnelKey,
  generateX25519KeyPair,
  hkdfSha256,
  x25519PublicKey,
  x25519SharedSecret,
} from './key-agreement.js';

const P = 2n ** 255n - 19n;

function modPow(base: bigint, exponent: bigint): bigint {
  let result = 1n;
  let b = ((base % P) + P) % P;
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
    e >>= 1n;
  }
  return result;
}

function le(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
}

/**
 * The u-coordinates of the points of order dividing 8 on Curve25519 (computed, not copied: the
 * birational map u = (1 + y) / (1 - y) applied to the Edwards torsion points noble lists), p - 1
 * (low order on the twist), and the non-canonical encodings u + p that still fit in 255 bits.
 */
function lowOrderUs(): Uint8Array[] {
  const us = new Set<bigint>();
  for (const hex of ED25519_TORSION_SUBGROUP) {
    const bytes = fromHex(hex);
    bytes[31] = bytes[31]! & 0x7f;
    let y = 0n;
    for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(bytes[i]!);
    if (y === 1n) continue; // the identity maps to the point at infinity (u = 0 below covers it)
    us.add(((1n + y) * modPow(1n - y, P - 2n)) % P);
  }
  us.add(0n);
  us.add(P - 1n); // of order 4 on the quadratic twist, which X25519 also accepts as input
  const out: Uint8Array[] = [];
  for (const u of us) {
    out.push(le(u));
    if (u + P < 2n ** 255n) out.push(le(u + P));
  }
  return out;
}

describe('X25519 key agreement', () => {
  it('knows the classic low-order list (0, 1, p - 1, and two points of order 8)', () => {
    const hexes = lowOrderUs().map(toHex);
    expect(hexes).toContain('0000000000000000000000000000000000000000000000000000000000000000');
    expect(hexes).toContain('0100000000000000000000000000000000000000000000000000000000000000');
    expect(hexes).toContain('ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f');
    expect(hexes).toContain('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800');
    expect(hexes).toContain('5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157');
    expect(hexes).toContain('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'); // p
    expect(hexes).toContain('eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'); // p + 1
    expect(hexes).toHaveLength(7);
  });

  for (const backend of BACKENDS) {
    it(`refuses every low-order peer key with CRYPTO_BAD_KEY (${backend})`, () => {
      const ours = generateX25519KeyPair({ backend });
      for (const u of lowOrderUs()) {
        expect(
          codeOf(() => deriveTunnelKey(ours.privateKey, u, { backend })),
          toHex(u),
        ).toBe('CRYPTO_BAD_KEY');
        // The top bit of u is ignored (RFC 7748 §5), so setting it changes nothing.
        const high = u.slice();
        high[31] = high[31]! | 0x80;
        expect(
          codeOf(() => x25519SharedSecret(ours.privateKey, high, { backend })),
          toHex(high),
        ).toBe('CRYPTO_BAD_KEY');
      }
    });

    it(`two fresh key pairs derive one tunnel key (${backend})`, () => {
      const a = generateX25519KeyPair({ backend });
      const b = generateX25519KeyPair({ backend });
      expect(toHex(a.publicKey)).toBe(toHex(x25519PublicKey(a.privateKey, { backend })));
      const k1 = deriveTunnelKey(a.privateKey, b.publicKey, { backend });
      const k2 = deriveTunnelKey(b.privateKey, a.publicKey, { backend });
      expect(k1).toHaveLength(32);
      expect(toHex(k1)).toBe(toHex(k2));
    });
  }

  it('wrong lengths and types are CRYPTO_BAD_KEY', () => {
    const k = new Uint8Array(32).fill(5);
    for (const bad of [
      new Uint8Array(31),
      new Uint8Array(33),
      new Uint8Array(0),
      'k',
      null,
      undefined,
      [1, 2],
    ]) {
      expect(codeOf(() => deriveTunnelKey(bad as Uint8Array, k))).toBe('CRYPTO_BAD_KEY');
      expect(codeOf(() => deriveTunnelKey(k, bad as Uint8Array))).toBe('CRYPTO_BAD_KEY');
      expect(codeOf(() => x25519PublicKey(bad as Uint8Array))).toBe('CRYPTO_BAD_KEY');
    }
  });

  it('hkdfSha256 checks its arguments', () => {
    const e = new Uint8Array(0);
    expect(codeOf(() => hkdfSha256(e, e, e, 0))).toBe('CRYPTO_OUT_OF_RANGE');
    expect(codeOf(() => hkdfSha256(e, e, e, 255 * 32 + 1))).toBe('CRYPTO_OUT_OF_RANGE');
    expect(codeOf(() => hkdfSha256('x' as unknown as Uint8Array, e, e, 32))).toBe('CRYPTO_BAD_KEY');
    expect(hkdfSha256(e, e, e, 255 * 32)).toHaveLength(8160);
  });
});
