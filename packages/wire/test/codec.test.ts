import { hostileBasics, propertyOptions, toHex } from '@pilot/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Codec,
  createState,
  decode,
  encode,
  encodeInto,
  fixed,
  lengthPrefixed,
  raw,
  u8,
  u16,
  u32,
  u64,
} from '../src/codec.js';
import { expectWireError, wireOutcome } from './expect-wire.js';

/** A small composite, the way other codecs of the package are built. */
const pair: Codec<{ id: number; key: Uint8Array; rest: Uint8Array }> = {
  preencode(state, value) {
    u32.preencode(state, value.id);
    fixed(4).preencode(state, value.key);
    raw.preencode(state, value.rest);
  },
  encode(state, value) {
    u32.encode(state, value.id);
    fixed(4).encode(state, value.key);
    raw.encode(state, value.rest);
  },
  decode(state) {
    return { id: u32.decode(state), key: fixed(4).decode(state), rest: raw.decode(state) };
  },
};

describe('codec primitives', () => {
  it('encode big-endian', () => {
    expect(toHex(encode(u8, 0xab))).toBe('ab');
    expect(toHex(encode(u16, 0x1234))).toBe('1234');
    expect(toHex(encode(u32, 0xdeadbeef))).toBe('deadbeef');
    expect(toHex(encode(u64, 0x0102030405060708n))).toBe('0102030405060708');
    expect(toHex(encode(lengthPrefixed(u16), Uint8Array.of(9, 9)))).toBe('00020909');
    expect(toHex(encode(pair, { id: 1, key: Uint8Array.of(1, 2, 3, 4), rest: Uint8Array.of(5) }))).toBe(
      '000000010102030405',
    );
  });

  it('range-check what they encode', () => {
    for (const [codec, bad] of [
      [u8, 256],
      [u8, -1],
      [u16, 65_536],
      [u16, 0.5],
      [u32, 2 ** 32],
      [u32, -1],
      [u32, Number.NaN],
    ] as const) {
      expectWireError(() => encode(codec, bad), 'WIRE_OUT_OF_RANGE');
    }
    expectWireError(() => encode(u64, -1n), 'WIRE_OUT_OF_RANGE');
    expectWireError(() => encode(u64, 2n ** 64n), 'WIRE_OUT_OF_RANGE');
    expectWireError(() => encode(fixed(4), new Uint8Array(3)), 'WIRE_LENGTH_MISMATCH');
    expectWireError(() => encode(lengthPrefixed(u8), new Uint8Array(256)), 'WIRE_OUT_OF_RANGE');
    expectWireError(() => encode(lengthPrefixed(u16, 3), new Uint8Array(4)), 'WIRE_OUT_OF_RANGE');
  });

  it('decode strictly: truncation and trailing bytes are errors', () => {
    expectWireError(() => decode(u32, Uint8Array.of(1, 2, 3)), 'WIRE_TRUNCATED');
    expectWireError(() => decode(u16, Uint8Array.of(1, 2, 3)), 'WIRE_LENGTH_MISMATCH');
    expectWireError(() => decode(lengthPrefixed(u8), Uint8Array.of(3, 1, 2)), 'WIRE_TRUNCATED');
    expectWireError(() => decode(lengthPrefixed(u8, 1), Uint8Array.of(2, 1, 2)), 'WIRE_TOO_LARGE');
  });

  it('decode byte fields as views', () => {
    const bytes = Uint8Array.of(0, 0, 0, 7, 1, 2, 3, 4, 5, 6);
    const value = decode(pair, bytes);
    expect(value.id).toBe(7);
    expect(value.key.buffer).toBe(bytes.buffer);
    expect(value.key.byteOffset).toBe(4);
    expect(Array.from(value.rest)).toEqual([5, 6]);
  });

  it('respect state bounds, including a state over a subarray', () => {
    const backing = Uint8Array.of(0xff, 0, 1, 0xff);
    const state = createState(backing.subarray(1, 3));
    expect(u16.decode(state)).toBe(1);
    expectWireError(() => u8.decode(state), 'WIRE_TRUNCATED');
    const bounded = createState(Uint8Array.of(1, 2, 3, 4), 1, 3);
    expect(u16.decode(bounded)).toBe(0x0203);
    expectWireError(() => createState(new Uint8Array(2), 0, 3), 'WIRE_OUT_OF_RANGE');
    expectWireError(() => createState(new Uint8Array(2), 2, 1), 'WIRE_OUT_OF_RANGE');
  });

  it('view addresses the same bytes as buffer, and follows a reassigned buffer', () => {
    const backing = Uint8Array.of(9, 0x12, 0x34, 9);
    const state = createState(backing.subarray(1, 3));
    expect(state.view.getUint16(0)).toBe(0x1234);
    state.buffer = Uint8Array.of(0xab, 0xcd);
    expect(state.view.getUint16(0)).toBe(0xabcd);
    expect(state.view.byteLength).toBe(2);
  });

  it('encodeInto writes at an offset and refuses a short target', () => {
    const target = new Uint8Array(6);
    expect(encodeInto(u32, 0x01020304, target, 2)).toBe(4);
    expect(toHex(target)).toBe('000001020304');
    expectWireError(() => encodeInto(u32, 1, target, 3), 'WIRE_OUT_OF_RANGE');
  });

  it('round-trip every value', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff_ffff }),
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        fc.uint8Array({ maxLength: 40 }),
        (n, big, bytes) => {
          expect(decode(u8, encode(u8, n & 0xff))).toBe(n & 0xff);
          expect(decode(u16, encode(u16, n & 0xffff))).toBe(n & 0xffff);
          expect(decode(u32, encode(u32, n))).toBe(n);
          expect(decode(u64, encode(u64, big))).toBe(big);
          expect(decode(lengthPrefixed(u32), encode(lengthPrefixed(u32), bytes))).toEqual(bytes);
          expect(decode(raw, encode(raw, bytes))).toEqual(bytes);
        },
      ),
      propertyOptions(),
    );
  });

  it('hostile bytes give a value or a WIRE_ error', () => {
    const codecs: Codec<unknown>[] = [
      u8,
      u16,
      u32,
      u64,
      fixed(8),
      raw,
      lengthPrefixed(u8),
      lengthPrefixed(u32),
      pair,
    ];
    for (const { bytes } of hostileBasics()) {
      for (const codec of codecs) wireOutcome(() => decode(codec, bytes));
    }
  });
});
