import { propertyOptions } from '@pilot/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  seqAdd,
  seqAfter,
  seqAfterOrEqual,
  seqBefore,
  seqBeforeOrEqual,
  seqDiff,
  seqMax,
  seqMin,
} from '../src/index.js';
import { u32 } from './arbitraries.js';

describe('serial number arithmetic', () => {
  it('handles the wrap', () => {
    expect(seqAfter(0, 0xffff_ffff)).toBe(true);
    expect(seqBefore(0xffff_ffff, 0)).toBe(true);
    expect(seqAfter(5, 5)).toBe(false);
    expect(seqAfterOrEqual(5, 5)).toBe(true);
    expect(seqBeforeOrEqual(5, 5)).toBe(true);
    expect(seqDiff(3, 0xffff_fffe)).toBe(5);
    expect(seqDiff(0xffff_fffe, 3)).toBe(-5);
    expect(seqAdd(0xffff_fffe, 5)).toBe(3);
    expect(seqAdd(3, -5)).toBe(0xffff_fffe);
    expect(seqMax(0xffff_fff0, 0x10)).toBe(0x10);
    expect(seqMin(0xffff_fff0, 0x10)).toBe(0xffff_fff0);
  });

  it('follows the reference rule at 2^31: int32(a - b) > 0', () => {
    expect(seqAfter(0x8000_0000, 0)).toBe(false);
    expect(seqBefore(0x8000_0000, 0)).toBe(true);
    expect(seqAfter(0x7fff_ffff, 0)).toBe(true);
  });

  it('is antisymmetric and consistent with seqAdd', () => {
    fc.assert(
      fc.property(u32(), fc.integer({ min: 1, max: 0x7fff_ffff }), (a, n) => {
        const b = seqAdd(a, n);
        expect(seqAfter(b, a)).toBe(true);
        expect(seqBefore(a, b)).toBe(true);
        expect(seqAfter(a, b)).toBe(false);
        expect(seqDiff(b, a)).toBe(n);
        expect(seqDiff(a, b)).toBe(-n);
        expect(seqMax(a, b)).toBe(b);
        expect(seqMin(a, b)).toBe(a);
        expect(b >>> 0).toBe(b);
      }),
      propertyOptions(),
    );
  });
});
