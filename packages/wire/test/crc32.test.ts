import { crc32 as zlibCrc32 } from 'node:zlib';
import { fromHex, propertyOptions } from '@pilot/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32Update, crc32UpdateTable, crc32UpdateZeros4, findNativeCrc32 } from '../src/crc32.js';
import { crc32 } from '../src/index.js';
import { expectWireError } from './expect-wire.js';
import { loadVector } from './load-vector.js';

const vectors = loadVector<{ name: string; hex: string; crc: string }[]>('crc32.json');

describe('crc32', () => {
  it.each(vectors)('$name', (v) => {
    expect(crc32(fromHex(v.hex))).toBe(Number.parseInt(v.crc, 16));
  });

  it('agrees with node:zlib.crc32 on random data, at every length and offset', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(16), (bytes, cut) => {
        const view = bytes.subarray(Math.min(cut, bytes.length));
        expect(crc32(view)).toBe(zlibCrc32(view));
      }),
      propertyOptions(),
    );
  });

  it('continues from a previous value: crc32(b, crc32(a)) = crc32(a ‖ b), as zlib', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.uint8Array({ maxLength: 100 }), (a, b) => {
        const joined = new Uint8Array(a.length + b.length);
        joined.set(a);
        joined.set(b, a.length);
        expect(crc32(b, crc32(a))).toBe(crc32(joined));
        expect(crc32(b, crc32(a))).toBe(zlibCrc32(b, zlibCrc32(a)));
      }),
      propertyOptions(),
    );
  });

  it('the table path and the node:zlib path give the same register, at any start, end and length', () => {
    // crc32Update hands runs of 128 bytes or more to zlib: both sides of that line, and the table
    // alone (what a browser runs), must agree on every register.
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 1500 }),
        fc.nat(40),
        fc.nat(40),
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        (bytes, a, b, register) => {
          const start = Math.min(a, bytes.length);
          const end = Math.max(start, bytes.length - b);
          expect(crc32Update(register, bytes, start, end)).toBe(
            crc32UpdateTable(register, bytes, start, end),
          );
        },
      ),
      propertyOptions(),
    );
  });

  it('finds node:zlib here, and nothing in a scope without process.getBuiltinModule', () => {
    expect(findNativeCrc32()).toBeTypeOf('function');
    expect(findNativeCrc32({})).toBeUndefined();
    expect(findNativeCrc32({ process: { getBuiltinModule: () => ({}) } })).toBeUndefined();
    expect(
      findNativeCrc32({
        process: {
          getBuiltinModule: () => {
            throw new Error('no');
          },
        },
      }),
    ).toBeUndefined();
  });

  it('the four-zero-bytes step equals feeding four zeros', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (register) => {
        expect(crc32UpdateZeros4(register)).toBe(crc32Update(register, new Uint8Array(4), 0, 4));
      }),
      propertyOptions(),
    );
  });

  it('refuses an initial value that is not a u32', () => {
    expectWireError(() => crc32(new Uint8Array(1), -1), 'WIRE_OUT_OF_RANGE');
    expectWireError(() => crc32(new Uint8Array(1), 2 ** 32), 'WIRE_OUT_OF_RANGE');
  });
});
