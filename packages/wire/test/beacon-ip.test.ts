import { fromHex, propertyOptions, toHex } from '@pilot/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatEndpoint, formatIp, parseEndpoint, parseIp } from '../src/index.js';
import { expectWireError, survives } from './frame-helpers.js';
import { loadVector } from './load-vector.js';

interface IpVectors {
  valid: { text: string; hex: string; canonical: string }[];
  invalid: string[];
  endpoints: { valid: { text: string; ip: string; port: number }[]; invalid: string[] };
}

const vectors = loadVector<IpVectors>('beacon-ip.json');

describe('IP text', () => {
  for (const vector of vectors.valid) {
    it(`parses ${vector.text} and prints ${vector.canonical}`, () => {
      const bytes = parseIp(vector.text);
      expect(toHex(bytes)).toBe(toHex(fromHex(vector.hex)));
      expect(formatIp(bytes)).toBe(vector.canonical);
      expect(toHex(parseIp(vector.canonical))).toBe(toHex(bytes));
    });
  }
  for (const text of vectors.invalid) {
    it(`refuses ${JSON.stringify(text)}`, () => expectWireError(() => parseIp(text), 'WIRE_BAD_ADDRESS'));
  }
  it('refuses to format an IP of another length', () => {
    for (const length of [0, 1, 5, 15, 17])
      expectWireError(() => formatIp(new Uint8Array(length)), 'WIRE_BAD_VALUE');
  });
});

describe('endpoint text', () => {
  for (const vector of vectors.endpoints.valid) {
    it(`parses and prints ${vector.text}`, () => {
      const endpoint = parseEndpoint(vector.text);
      expect(toHex(endpoint.ip)).toBe(toHex(fromHex(vector.ip)));
      expect(endpoint.port).toBe(vector.port);
      expect(formatEndpoint(endpoint)).toBe(vector.text);
    });
  }
  for (const text of vectors.endpoints.invalid) {
    it(`refuses ${JSON.stringify(text)}`, () =>
      expectWireError(() => parseEndpoint(text), 'WIRE_BAD_ADDRESS'));
  }
  it('refuses to format a port out of range', () => {
    expectWireError(() => formatEndpoint({ ip: new Uint8Array(4), port: 70_000 }), 'WIRE_OUT_OF_RANGE');
  });
});

describe('IP text: properties', () => {
  const ip = fc.oneof(
    fc.uint8Array({ minLength: 4, maxLength: 4 }),
    fc.uint8Array({ minLength: 16, maxLength: 16 }),
    // Mostly-zero IPv6 addresses exercise the "::" choice.
    fc
      .array(fc.constantFrom(0, 0, 0, 1, 0xffff), { minLength: 8, maxLength: 8 })
      .map((groups) => new Uint8Array(groups.flatMap((group) => [group >>> 8, group & 0xff]))),
  );

  it('parseIp(formatIp(ip)) gives back the bytes', () => {
    fc.assert(
      fc.property(ip, (bytes) => {
        expect(toHex(parseIp(formatIp(bytes)))).toBe(toHex(bytes));
      }),
      propertyOptions(),
    );
  });

  it('formatted IPv6 never shortens a single zero group and uses "::" at most once', () => {
    fc.assert(
      fc.property(ip, (bytes) => {
        const text = formatIp(bytes);
        expect(text.split('::').length).toBeLessThanOrEqual(2);
        expect(text).toBe(text.toLowerCase());
      }),
      propertyOptions(),
    );
  });

  it('any text gives bytes or a WIRE_ error', () => {
    const chars = fc.constantFrom(...'0123456789abcdefABCDEF:.[]%-+ x'.split(''));
    fc.assert(
      fc.property(fc.string({ unit: chars, maxLength: 45 }), fc.string({ maxLength: 20 }), (text, other) => {
        survives(() => parseIp(text));
        survives(() => parseEndpoint(text));
        survives(() => parseIp(other));
      }),
      propertyOptions(),
    );
  });
});
