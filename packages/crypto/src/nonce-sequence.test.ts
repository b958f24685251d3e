import { toHex } from '@pilot/testkit';
import { describe, expect, it } from 'vitest';
import { codeOf } from '../test/helpers.js';
import { NonceSequence } from './nonce-sequence.js';

describe('NonceSequence', () => {
  it('prefix ‖ big-endian u64 counter, starting at 1', () => {
    const s = new NonceSequence({ prefix: Uint8Array.of(1, 2, 3, 4) });
    expect(s.nextCounter).toBe(1n);
    expect(toHex(s.next())).toBe('010203040000000000000001');
    expect(toHex(s.next())).toBe('010203040000000000000002');
    expect(s.nextCounter).toBe(3n);
  });

  it('carries into the high word', () => {
    const s = new NonceSequence({ prefix: new Uint8Array(4), firstCounter: 0xffff_ffffn });
    expect(toHex(s.next())).toBe('0000000000000000ffffffff');
    expect(toHex(s.next())).toBe('000000000000000100000000');
  });

  it('refuses after 2^64 - 1 instead of wrapping to 0', () => {
    const s = new NonceSequence({ prefix: Uint8Array.of(9, 9, 9, 9), firstCounter: 2n ** 64n - 2n });
    expect(toHex(s.next())).toBe('09090909fffffffffffffffe');
    expect(toHex(s.next())).toBe('09090909ffffffffffffffff');
    expect(s.exhausted).toBe(true);
    expect(s.nextCounter).toBeUndefined();
    expect(codeOf(() => s.next())).toBe('CRYPTO_NONCE_EXHAUSTED');
    expect(codeOf(() => s.next())).toBe('CRYPTO_NONCE_EXHAUSTED');
  });

  it('draws a random prefix when none is given', () => {
    const prefixes = new Set(Array.from({ length: 50 }, () => toHex(new NonceSequence().prefix)));
    expect(prefixes.size).toBeGreaterThan(45);
  });

  it('copies the prefix (a caller changing its array later changes nothing)', () => {
    const prefix = Uint8Array.of(1, 1, 1, 1);
    const s = new NonceSequence({ prefix });
    prefix[0] = 9;
    expect(toHex(s.next()).slice(0, 8)).toBe('01010101');
  });

  it('rejects bad options with codes', () => {
    expect(codeOf(() => new NonceSequence({ prefix: new Uint8Array(3) }))).toBe('CRYPTO_BAD_KEY');
    expect(codeOf(() => new NonceSequence({ firstCounter: 0 }))).toBe('CRYPTO_OUT_OF_RANGE');
    expect(codeOf(() => new NonceSequence({ firstCounter: -1 }))).toBe('CRYPTO_OUT_OF_RANGE');
    expect(codeOf(() => new NonceSequence({ firstCounter: 2n ** 64n }))).toBe('CRYPTO_OUT_OF_RANGE');
    expect(codeOf(() => new NonceSequence().nextInto(new Uint8Array(11), 0))).toBe('CRYPTO_OUT_OF_RANGE');
  });
});
