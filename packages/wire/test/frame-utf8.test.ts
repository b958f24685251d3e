import { propertyOptions } from '@pilot/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8Decode, utf8Encode, utf8EncodeInto, utf8Length } from '../src/frame-utf8.js';
import { expectWireError } from './frame-helpers.js';

describe('UTF-8 helpers', () => {
  it('utf8Length agrees with TextEncoder, lone surrogates included', () => {
    // Code points of every width, and lone surrogates, joined into one string.
    const units = fc.array(
      fc.oneof(
        fc.integer({ min: 0, max: 0x10ffff }).filter((code) => code < 0xd800 || code > 0xdfff),
        fc.integer({ min: 0xd800, max: 0xdfff }),
        fc.integer({ min: 0, max: 0x7ff }),
      ),
      { maxLength: 30 },
    );
    fc.assert(
      fc.property(units, (codes) => {
        const text = codes.map((code) => String.fromCodePoint(code)).join('');
        expect(utf8Length(text)).toBe(new TextEncoder().encode(text).length);
      }),
      propertyOptions(),
    );
  });

  it('round-trips well-formed text, a leading byte-order mark included', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 30 }), (text) => {
        const withBom = `\uFEFF${text}`;
        expect(utf8Decode(utf8Encode(withBom, 't'), 't')).toBe(withBom);
        const target = new Uint8Array(utf8Length(text) + 2);
        expect(utf8EncodeInto(text, target, 2, 't')).toBe(utf8Length(text));
        expect(utf8Decode(target.subarray(2), 't')).toBe(text);
      }),
      propertyOptions(),
    );
  });

  it('refuses lone surrogates and malformed bytes', () => {
    expectWireError(() => utf8Encode('\uD83D', 't'), 'WIRE_BAD_VALUE');
    expectWireError(() => utf8EncodeInto('x\uDE00', new Uint8Array(8), 0, 't'), 'WIRE_BAD_VALUE');
    for (const bytes of [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80]]) {
      expectWireError(() => utf8Decode(Uint8Array.from(bytes), 't'), 'WIRE_BAD_VALUE');
    }
  });
});
