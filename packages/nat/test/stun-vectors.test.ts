import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fromHex, toHex } from '@pilot/testkit';
import { formatEndpoint } from '@pilot/wire';
import { describe, expect, it } from 'vitest';
import { decodeStunMessage, StunAttributeType, StunClass, StunMethod } from '../src/index.js';

interface Vector {
  readonly name: string;
  readonly hex: string;
  readonly class: 'request' | 'success';
  readonly software: string;
  readonly xorMappedAddress?: string;
  readonly unknownRequired?: readonly number[];
  readonly fingerprint: string;
}

const file = JSON.parse(readFileSync(new URL('./vectors/rfc5769.json', import.meta.url), 'utf8')) as {
  readonly password: string;
  readonly transactionId: string;
  readonly vectors: readonly Vector[];
};

/** HMAC-SHA1 over the message up to MESSAGE-INTEGRITY, with the length field ending at it (RFC 8489 §14.5). */
function integrityOk(bytes: Uint8Array, password: string): boolean {
  let offset = 20;
  while (offset < bytes.length) {
    const type = (bytes[offset]! << 8) | bytes[offset + 1]!;
    const length = (bytes[offset + 2]! << 8) | bytes[offset + 3]!;
    if (type === StunAttributeType.MESSAGE_INTEGRITY) {
      const covered = bytes.slice(0, offset);
      const adjusted = offset + 24 - 20;
      covered[2] = adjusted >>> 8;
      covered[3] = adjusted & 0xff;
      const mac = createHmac('sha1', password).update(covered).digest();
      return toHex(mac) === toHex(bytes.subarray(offset + 4, offset + 24));
    }
    offset += 4 + ((length + 3) & ~3);
  }
  return false;
}

describe('RFC 5769 vectors', () => {
  for (const vector of file.vectors) {
    it(vector.name, () => {
      const bytes = fromHex(vector.hex);
      const message = decodeStunMessage(bytes);
      expect(message.method).toBe(StunMethod.BINDING);
      expect(message.messageClass).toBe(vector.class === 'request' ? StunClass.REQUEST : StunClass.SUCCESS);
      expect(toHex(message.transactionId)).toBe(file.transactionId);
      expect(message.classic).toBe(false);
      expect(message.software).toBe(vector.software);
      expect(message.fingerprint).toBe(true);
      const last = message.attributes.at(-1);
      expect(last?.type).toBe(StunAttributeType.FINGERPRINT);
      expect(toHex(last?.value ?? new Uint8Array())).toBe(vector.fingerprint);
      if (vector.xorMappedAddress !== undefined) {
        expect(message.xorMappedAddress).toBeDefined();
        expect(formatEndpoint(message.xorMappedAddress!)).toBe(vector.xorMappedAddress);
      }
      expect([...message.unknownRequired]).toEqual(vector.unknownRequired ?? []);
      expect(integrityOk(bytes, file.password)).toBe(true);
    });

    it(`${vector.name}: a flipped bit before the FINGERPRINT is caught`, () => {
      const bytes = fromHex(vector.hex);
      bytes[25] = bytes[25]! ^ 0x01;
      expect(() => decodeStunMessage(bytes)).toThrowError(
        expect.objectContaining({ code: 'NAT_STUN_BAD_FINGERPRINT' }),
      );
    });
  }
});
