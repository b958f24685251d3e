import { describe, expect, it } from 'vitest';
import {
  fromHex,
  hostileBasics,
  hostileVariants,
  propertyOptions,
  seededRandom,
  toHex,
} from '../src/index.js';

describe('seededRandom', () => {
  it('repeats for the same seed and differs for another', () => {
    const a = seededRandom(42).bytes(64);
    expect(seededRandom(42).bytes(64)).toEqual(a);
    expect(seededRandom(43).bytes(64)).not.toEqual(a);
  });

  it('keeps int() inside its bounds', () => {
    const random = seededRandom(7);
    for (let i = 0; i < 10_000; i++) {
      const value = random.int(-3, 5);
      expect(value).toBeGreaterThanOrEqual(-3);
      expect(value).toBeLessThanOrEqual(5);
    }
  });
});

describe('hostile inputs', () => {
  it('derives every truncation and single-bit flip of a valid encoding', () => {
    const variants = hostileVariants(Uint8Array.of(1, 2, 3));
    expect(variants.filter((v) => v.name.startsWith('truncated'))).toHaveLength(3);
    expect(variants.filter((v) => v.name.startsWith('bit'))).toHaveLength(24);
    expect(hostileBasics().some((v) => v.bytes.length === 0)).toBe(true);
  });
});

describe('hex and property options', () => {
  it('round-trips hex', () => {
    expect(toHex(fromHex('0a FF 10'))).toBe('0aff10');
    expect(() => fromHex('abc')).toThrow();
  });

  it('reads the seed from the environment', () => {
    const saved = process.env.PILOT_FC_SEED;
    process.env.PILOT_FC_SEED = '99';
    expect(propertyOptions().seed).toBe(99);
    if (saved === undefined) delete process.env.PILOT_FC_SEED;
    else process.env.PILOT_FC_SEED = saved;
  });
});
