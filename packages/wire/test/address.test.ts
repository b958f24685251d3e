import { fromHex, hostileBasics, hostileVariants, propertyOptions, toHex } from '@pilot/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { address as addressCodec } from '../src/address.js';
import { createState, decode, encode } from '../src/codec.js';
import {
  addressEquals,
  BEACON,
  broadcastAddress,
  decodeAddress,
  encodeAddress,
  formatAddress,
  formatSocketAddress,
  isBroadcast,
  NAMESERVER,
  parseAddress,
  parseSocketAddress,
  REGISTRY,
  UNSPECIFIED,
} from '../src/index.js';
import { address } from './arbitraries.js';
import { expectWireError, wireOutcome } from './expect-wire.js';
import { loadVector } from './load-vector.js';

interface AddressVectors {
  valid: {
    text: string;
    network: number;
    node: number;
    hex: string;
    canonical: string;
    broadcast?: boolean;
  }[];
  invalid: { text: string; why: string }[];
  socketValid: { text: string; network: number; node: number; port: number; canonical: string }[];
  socketInvalid: string[];
}

const vectors = loadVector<AddressVectors>('addresses.json');

describe('address vectors', () => {
  it.each(vectors.valid)('$text', (v) => {
    const parsed = parseAddress(v.text);
    expect(parsed).toEqual({ network: v.network, node: v.node });
    expect(formatAddress(parsed)).toBe(v.canonical);
    expect(toHex(encodeAddress(parsed))).toBe(v.hex);
    expect(decodeAddress(fromHex(v.hex))).toEqual(parsed);
    expect(toHex(encode(addressCodec, parsed))).toBe(v.hex);
    expect(isBroadcast(parsed)).toBe(v.broadcast === true);
  });

  it.each(vectors.invalid)('rejects $text ($why)', ({ text }) => {
    expectWireError(() => parseAddress(text), 'WIRE_BAD_ADDRESS');
  });

  it.each(vectors.socketValid)('socket $text', (v) => {
    const parsed = parseSocketAddress(v.text);
    expect(parsed).toEqual({ address: { network: v.network, node: v.node }, port: v.port });
    expect(formatSocketAddress(parsed)).toBe(v.canonical);
  });

  it.each(vectors.socketInvalid)('rejects socket %s', (text) => {
    expectWireError(() => parseSocketAddress(text), 'WIRE_BAD_ADDRESS');
  });
});

describe('special addresses', () => {
  it('has the reserved names of the spec', () => {
    expect(formatAddress(UNSPECIFIED)).toBe('0:0000.0000.0000');
    expect(formatAddress(REGISTRY)).toBe('0:0000.0000.0001');
    expect(formatAddress(BEACON)).toBe('0:0000.0000.0002');
    expect(formatAddress(NAMESERVER)).toBe('0:0000.0000.0003');
    expect(formatAddress(broadcastAddress(5))).toBe('5:0005.FFFF.FFFF');
    expect(Object.isFrozen(REGISTRY)).toBe(true);
  });

  it('compares by value', () => {
    expect(addressEquals(parseAddress('0:0000.0000.0001'), REGISTRY)).toBe(true);
    expect(addressEquals(REGISTRY, BEACON)).toBe(false);
    expect(addressEquals({ network: 1, node: 1 }, REGISTRY)).toBe(false);
  });

  it('refuses out-of-range fields in encoders', () => {
    for (const bad of [
      { network: 65_536, node: 0 },
      { network: -1, node: 0 },
      { network: 1.5, node: 0 },
      { network: 0, node: 2 ** 32 },
      { network: 0, node: -1 },
      { network: Number.NaN, node: 0 },
    ]) {
      expectWireError(() => encodeAddress(bad), 'WIRE_OUT_OF_RANGE');
      expectWireError(() => formatAddress(bad), 'WIRE_OUT_OF_RANGE');
      expectWireError(() => encode(addressCodec, bad), 'WIRE_OUT_OF_RANGE');
    }
    expectWireError(() => broadcastAddress(70_000), 'WIRE_OUT_OF_RANGE');
    expectWireError(() => formatSocketAddress({ address: REGISTRY, port: 65_536 }), 'WIRE_OUT_OF_RANGE');
  });

  it('decodeAddress wants exactly 6 bytes', () => {
    expectWireError(() => decodeAddress(new Uint8Array(5)), 'WIRE_TRUNCATED');
    expectWireError(() => decodeAddress(new Uint8Array(7)), 'WIRE_LENGTH_MISMATCH');
  });

  it('the codec reads from inside a larger buffer, as a view', () => {
    const state = createState(fromHex('ff0001f2910004ee'), 1);
    expect(addressCodec.decode(state)).toEqual({ network: 1, node: 0xf2910004 });
    expect(state.start).toBe(7);
  });
});

describe('address properties', () => {
  it('text and bytes round-trip for every address', () => {
    fc.assert(
      fc.property(address(), (a) => {
        expect(parseAddress(formatAddress(a))).toEqual(a);
        expect(parseAddress(formatAddress(a).toLowerCase())).toEqual(a);
        expect(decodeAddress(encodeAddress(a))).toEqual(a);
        expect(decode(addressCodec, encode(addressCodec, a))).toEqual(a);
        expect(formatAddress(a)).toMatch(/^\d{1,5}:[0-9A-F]{4}\.[0-9A-F]{4}\.[0-9A-F]{4}$/);
      }),
      propertyOptions(),
    );
  });

  it('socket addresses round-trip', () => {
    fc.assert(
      fc.property(address(), fc.integer({ min: 0, max: 0xffff }), (a, port) => {
        const text = formatSocketAddress({ address: a, port });
        expect(parseSocketAddress(text)).toEqual({ address: a, port });
      }),
      propertyOptions(),
    );
  });

  it('a mismatching hex network is always rejected', () => {
    fc.assert(
      fc.property(address(), fc.integer({ min: 0, max: 0xffff }), (a, other) => {
        fc.pre(other !== a.network);
        const text = formatAddress(a).replace(/:[0-9A-F]{4}\./, `:${other.toString(16).padStart(4, '0')}.`);
        expectWireError(() => parseAddress(text), 'WIRE_BAD_ADDRESS');
      }),
      propertyOptions(),
    );
  });

  it('arbitrary strings parse or fail with WIRE_BAD_ADDRESS, never anything else', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), fc.stringMatching(/^[0-9a-fA-F.:xX +-]{0,25}$/), (s, t) => {
        for (const text of [s, t]) {
          const code = wireOutcome(() => parseAddress(text));
          if (code !== undefined) expect(code).toBe('WIRE_BAD_ADDRESS');
          const socketCode = wireOutcome(() => parseSocketAddress(text));
          if (socketCode !== undefined) expect(socketCode).toBe('WIRE_BAD_ADDRESS');
        }
      }),
      propertyOptions(),
    );
  });

  it('hostile bytes never crash the address decoders', () => {
    const inputs = [...hostileBasics(), ...hostileVariants(fromHex('0001f2910004'))];
    for (const { bytes } of inputs) {
      wireOutcome(() => decodeAddress(bytes));
      wireOutcome(() => decode(addressCodec, bytes));
    }
  });
});
