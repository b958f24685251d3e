import { propertyOptions } from '@pilot/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBase64, encodeBase64 } from './_base64.js';

describe('base64', () => {
  it('matches Buffer and round-trips', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        const text = encodeBase64(bytes);
        expect(text).toBe(Buffer.from(bytes).toString('base64'));
        expect(decodeBase64(text)).toEqual(bytes);
      }),
      propertyOptions(500),
    );
  });

  it('refuses what is not canonical padded standard base64', () => {
    for (const bad of [
      'A',
      'AA',
      'AAA',
      'AA=A',
      '====',
      'A===',
      'AB==CD==',
      'AB-_',
      'AB c',
      ' ABC',
      'QR==',
      'QUJ=',
      'é===',
    ]) {
      expect(decodeBase64(bad), bad).toBeUndefined();
    }
    expect(decodeBase64('')).toEqual(new Uint8Array(0));
    expect(decodeBase64('QQ==')).toEqual(Uint8Array.of(0x41));
  });
});
