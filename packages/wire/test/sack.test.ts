import { fromHex, hostileBasics, hostileVariants, propertyOptions, toHex } from '@pilot/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeSack, encodeSack, isValidSackBlock, type SackBlock, sackSize } from '../src/index.js';
import { sackBlock } from './arbitraries.js';
import { expectWireError } from './expect-wire.js';
import { loadVector } from './load-vector.js';

interface SackVectors {
  valid: { name: string; hex: string; blocks: SackBlock[] }[];
  quirks: { name: string; hex: string; blocks: SackBlock[]; validBlocks?: boolean[] }[];
  notSack: { name: string; hex: string }[];
}

const vectors = loadVector<SackVectors>('sack.json');

describe('SACK vectors', () => {
  it.each(vectors.valid)('$name', (v) => {
    expect(toHex(encodeSack(v.blocks))).toBe(v.hex);
    expect(decodeSack(fromHex(v.hex))).toEqual(v.blocks);
  });

  it.each(vectors.quirks)('quirk: $name', (v) => {
    const blocks = decodeSack(fromHex(v.hex));
    expect(blocks).toEqual(v.blocks);
    if (v.validBlocks !== undefined) expect(blocks!.map(isValidSackBlock)).toEqual(v.validBlocks);
  });

  it.each(vectors.notSack)('not a SACK: $name', (v) => {
    expect(decodeSack(fromHex(v.hex))).toBeUndefined();
  });
});

describe('SACK encoding rules', () => {
  it('wants 1..4 blocks', () => {
    expectWireError(() => encodeSack([]), 'WIRE_OUT_OF_RANGE');
    const five = Array.from({ length: 5 }, (_, i) => ({ left: i * 10, right: i * 10 + 5 }));
    expectWireError(() => encodeSack(five), 'WIRE_OUT_OF_RANGE');
  });

  it('refuses empty or inverted blocks and out-of-range edges', () => {
    expectWireError(() => encodeSack([{ left: 5, right: 5 }]), 'WIRE_BAD_VALUE');
    expectWireError(() => encodeSack([{ left: 6, right: 5 }]), 'WIRE_BAD_VALUE');
    expectWireError(() => encodeSack([{ left: -1, right: 5 }]), 'WIRE_OUT_OF_RANGE');
    expectWireError(() => encodeSack([{ left: 0, right: 2 ** 32 }]), 'WIRE_OUT_OF_RANGE');
  });
});

describe('SACK properties', () => {
  it('decode(encode(blocks)) is blocks', () => {
    fc.assert(
      fc.property(fc.array(sackBlock(), { minLength: 1, maxLength: 4 }), (blocks) => {
        const bytes = encodeSack(blocks);
        expect(bytes.length).toBe(sackSize(blocks.length));
        expect(decodeSack(bytes)).toEqual(blocks);
        expect(blocks.every(isValidSackBlock)).toBe(true);
      }),
      propertyOptions(),
    );
  });

  it('never throws, whatever the payload', () => {
    const valid = encodeSack([
      { left: 1, right: 9 },
      { left: 20, right: 30 },
    ]);
    for (const { bytes } of [...hostileBasics(), ...hostileVariants(valid)]) {
      const blocks = decodeSack(bytes);
      if (blocks !== undefined) expect(blocks.length).toBeGreaterThanOrEqual(1);
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 60 }), (bytes) => {
        bytes.set([0x53, 0x41, 0x43, 0x4b].slice(0, Math.min(4, bytes.length)));
        const blocks = decodeSack(bytes);
        const count = bytes[4];
        const isSack = count !== undefined && count >= 1 && count <= 4 && bytes.length >= 5 + 8 * count;
        expect(blocks !== undefined).toBe(isSack);
      }),
      propertyOptions(),
    );
  });
});
