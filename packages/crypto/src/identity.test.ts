import { ED25519_TORSION_SUBGROUP } from '@noble/curves/ed25519.js';
import { fromHex, propertyOptions, toHex } from '@pilot/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BACKENDS, codeOf } from '../test/helpers.js';
import { createVerifier, generateIdentity, identityFromSeed, sign, verify } from './identity.js';
import { decodeIdentityFile, encodeIdentityFile } from './identity-file.js';

const SEED = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
const message = new TextEncoder().encode('heartbeat:1');

// L, little-endian, and a helper adding it to the S half of a signature (a malleated signature).
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
function leToBig(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}
function bigToLe(n: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
}

describe('identity', () => {
  for (const backend of BACKENDS) {
    it(`generates distinct identities that sign and verify (${backend})`, () => {
      const a = generateIdentity({ backend });
      const b = generateIdentity({ backend });
      expect(toHex(a.seed)).not.toBe(toHex(b.seed));
      const sig = sign(a, message, { backend });
      expect(sig).toHaveLength(64);
      expect(sig.constructor).toBe(Uint8Array);
      expect(verify(sig, message, a.publicKey, { backend })).toBe(true);
      expect(verify(sig, message, b.publicKey, { backend })).toBe(false);
      expect(createVerifier(a.publicKey, { backend }).verify(sig, message)).toBe(true);
      expect(createVerifier(b.publicKey, { backend }).verify(sig, message)).toBe(false);
    });

    it(`verify never throws: malformed arguments are false (${backend})`, () => {
      const id = identityFromSeed(SEED, { backend });
      const sig = sign(id, message, { backend });
      const junk: unknown[] = [
        undefined,
        null,
        'x',
        5,
        {},
        [],
        new Uint8Array(0),
        new Uint8Array(63),
        new Uint8Array(65),
      ];
      for (const j of junk) {
        expect(verify(j as Uint8Array, message, id.publicKey, { backend })).toBe(false);
        expect(verify(sig, j as Uint8Array, id.publicKey, { backend })).toBe(false);
        expect(verify(sig, message, j as Uint8Array, { backend })).toBe(false);
        expect(createVerifier(id.publicKey, { backend }).verify(j as Uint8Array, message)).toBe(false);
      }
      expect(verify(sig, message, new Uint8Array(32).fill(0xff), { backend })).toBe(false);
    });

    it(`rejects S ≥ L (the malleated twin of a valid signature) (${backend})`, () => {
      const id = identityFromSeed(SEED, { backend });
      const sig = sign(id, message, { backend });
      const twin = sig.slice();
      twin.set(bigToLe(leToBig(sig.subarray(32)) + L, 32), 32);
      expect(verify(twin, message, id.publicKey, { backend })).toBe(false);
      const sEqualsL = sig.slice();
      sEqualsL.set(bigToLe(L, 32), 32);
      expect(verify(sEqualsL, message, id.publicKey, { backend })).toBe(false);
    });

    it(`rejects small-order and non-canonical public keys (${backend})`, () => {
      // With a small-order key A and S = 0, R = -[k]A style forgeries become possible: refuse the keys.
      for (const hex of ED25519_TORSION_SUBGROUP) {
        const key = fromHex(hex);
        for (const sig of [new Uint8Array(64), Uint8Array.from([...fromHex(hex), ...new Uint8Array(32)])]) {
          expect(verify(sig, message, key, { backend })).toBe(false);
          expect(verify(sig, new Uint8Array(0), key, { backend })).toBe(false);
        }
      }
      const nonCanonical = fromHex('eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f');
      expect(verify(new Uint8Array(64), message, nonCanonical, { backend })).toBe(false);
    });
  }

  it('bad seeds and identities are CRYPTO_BAD_KEY', () => {
    expect(codeOf(() => identityFromSeed(new Uint8Array(31)))).toBe('CRYPTO_BAD_KEY');
    expect(codeOf(() => identityFromSeed(new Uint8Array(64)))).toBe('CRYPTO_BAD_KEY');
    expect(codeOf(() => identityFromSeed('seed' as unknown as Uint8Array))).toBe('CRYPTO_BAD_KEY');
    expect(codeOf(() => sign({ seed: new Uint8Array(16), publicKey: new Uint8Array(32) }, message))).toBe(
      'CRYPTO_BAD_KEY',
    );
    expect(codeOf(() => sign(null as unknown as never, message))).toBe('CRYPTO_BAD_KEY');
    expect(codeOf(() => sign(identityFromSeed(SEED), 'text' as unknown as Uint8Array))).toBe(
      'CRYPTO_BAD_INPUT',
    );
    expect(codeOf(() => createVerifier(new Uint8Array(33)))).toBe('CRYPTO_BAD_KEY');
  });

  it('an identity is independent of the seed array it came from', () => {
    const seed = SEED.slice();
    const id = identityFromSeed(seed);
    seed.fill(0);
    expect(toHex(id.seed)).toBe(toHex(SEED));
  });

  it('the node backend notices a seed array changed in place (no stale cached key)', () => {
    const seed = new Uint8Array(32).fill(1);
    const id = { seed, publicKey: identityFromSeed(seed).publicKey };
    const first = sign(id, message, { backend: 'node' });
    seed.fill(2);
    const second = sign(id, message, { backend: 'node' });
    expect(toHex(second)).toBe(toHex(sign(identityFromSeed(seed), message, { backend: 'noble' })));
    expect(toHex(second)).not.toBe(toHex(first));
  });
});

describe('identity file', () => {
  const id = identityFromSeed(SEED);
  const file = encodeIdentityFile(id);

  it('is the daemon JSON: base64(seed ‖ pub) and base64(pub)', () => {
    const parsed = JSON.parse(file) as { private_key: string; public_key: string };
    expect(Object.keys(parsed)).toEqual(['private_key', 'public_key']);
    expect(toHex(Buffer.from(parsed.private_key, 'base64'))).toBe(toHex(SEED) + toHex(id.publicKey));
    expect(toHex(Buffer.from(parsed.public_key, 'base64'))).toBe(
      '79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664',
    );
    expect(file.endsWith('}\n')).toBe(true);
  });

  for (const backend of BACKENDS) {
    it(`round-trips, compact or indented, extra fields ignored (${backend})`, () => {
      const back = decodeIdentityFile(file, { backend });
      expect(toHex(back.seed)).toBe(toHex(id.seed));
      expect(toHex(back.publicKey)).toBe(toHex(id.publicKey));
      const parsed = JSON.parse(file) as Record<string, string>;
      const compact = JSON.stringify({
        public_key: parsed.public_key,
        note: 1,
        private_key: parsed.private_key,
      });
      expect(toHex(decodeIdentityFile(compact, { backend }).publicKey)).toBe(toHex(id.publicKey));
    });
  }

  it('round-trips random identities', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (seed) => {
        const i = identityFromSeed(seed);
        expect(toHex(decodeIdentityFile(encodeIdentityFile(i)).seed)).toBe(toHex(seed));
      }),
      propertyOptions(100),
    );
  });

  it('refuses garbage, wrong lengths and mismatched halves with CRYPTO_BAD_IDENTITY', () => {
    const parsed = JSON.parse(file) as { private_key: string; public_key: string };
    const other = identityFromSeed(new Uint8Array(32).fill(7));
    const otherPub = Buffer.from(other.publicKey).toString('base64');
    const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
    const cases: unknown[] = [
      '',
      'not json',
      '{',
      'null',
      '[]',
      '42',
      '"x"',
      '{}',
      JSON.stringify({ private_key: parsed.private_key }),
      JSON.stringify({ public_key: parsed.public_key }),
      JSON.stringify({ private_key: 5, public_key: parsed.public_key }),
      JSON.stringify({ private_key: parsed.private_key, public_key: null }),
      JSON.stringify({ private_key: `${parsed.private_key}x`, public_key: parsed.public_key }),
      JSON.stringify({ private_key: parsed.private_key.replace(/=+$/, ''), public_key: parsed.public_key }),
      JSON.stringify({ private_key: Buffer.from(SEED).toString('base64'), public_key: parsed.public_key }),
      JSON.stringify({ private_key: parsed.private_key, public_key: b64(new Uint8Array(31)) }),
      JSON.stringify({ private_key: b64(new Uint8Array(65)), public_key: parsed.public_key }),
      // public_key from another identity
      JSON.stringify({ private_key: parsed.private_key, public_key: otherPub }),
      // both public copies from another identity: the seed does not derive them
      JSON.stringify({
        private_key: b64(Uint8Array.from([...SEED, ...other.publicKey])),
        public_key: otherPub,
      }),
      undefined,
      null,
      42,
      new Uint8Array(10),
    ];
    for (const c of cases)
      expect(
        codeOf(() => decodeIdentityFile(c as string)),
        String(c),
      ).toBe('CRYPTO_BAD_IDENTITY');
    // Fuzz: arbitrary strings and JSON values.
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.jsonValue().map((v) => JSON.stringify({ private_key: v, public_key: v })),
        ),
        (text) => {
          expect(codeOf(() => decodeIdentityFile(text))).toBe('CRYPTO_BAD_IDENTITY');
        },
      ),
      propertyOptions(500),
    );
  });

  it('encoding a bad identity is CRYPTO_BAD_KEY', () => {
    expect(codeOf(() => encodeIdentityFile({ seed: new Uint8Array(32), publicKey: new Uint8Array(2) }))).toBe(
      'CRYPTO_BAD_KEY',
    );
    expect(codeOf(() => encodeIdentityFile(null as unknown as never))).toBe('CRYPTO_BAD_KEY');
  });
});

describe('Buffer arguments', () => {
  it('a Buffer seed changed in place is noticed too (Buffer.slice would have shared memory)', () => {
    const seed = Buffer.alloc(32, 1);
    const id = { seed, publicKey: new Uint8Array(32) };
    const first = sign(id, message, { backend: 'node' });
    seed.fill(2);
    const second = sign(id, message, { backend: 'node' });
    expect(toHex(second)).not.toBe(toHex(first));
    expect(toHex(second)).toBe(toHex(sign(identityFromSeed(seed), message, { backend: 'noble' })));
  });
});
