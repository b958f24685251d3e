import { fromHex, hostileBasics, hostileVariants, propertyOptions } from '@pilot/testkit';
import { isPilotError, parseIp } from '@pilot/wire';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeStunMessage,
  encodeBindingRequest,
  encodeStunMessage,
  isStunMessage,
  mappedAddressAttribute,
  STUN_PADDED_REQUEST_SIZE,
  StunAttributeType,
  StunClass,
  stunMessageType,
  xorMappedAddressAttribute,
} from '../src/index.js';

const KNOWN = new Set<number>(Object.values(StunAttributeType));
const ipv4 = fc.uint8Array({ minLength: 4, maxLength: 4 });
const ipv6 = fc.uint8Array({ minLength: 16, maxLength: 16 });
const endpoint = fc.record({ ip: fc.oneof(ipv4, ipv6), port: fc.integer({ min: 0, max: 0xffff }) });
const tid = fc.uint8Array({ minLength: 12, maxLength: 12 });
const unknownAttribute = fc.record({
  type: fc.integer({ min: 0, max: 0xffff }).filter((type) => !KNOWN.has(type)),
  value: fc.uint8Array({ maxLength: 40 }),
});
const stunClass = fc.constantFrom(
  StunClass.REQUEST,
  StunClass.INDICATION,
  StunClass.SUCCESS,
  StunClass.ERROR,
);

function expectOnlyPilotErrors(bytes: Uint8Array): void {
  try {
    decodeStunMessage(bytes, { classic: true });
  } catch (error) {
    expect(isPilotError(error)).toBe(true);
    expect((error as { code: string }).code.startsWith('NAT_')).toBe(true);
  }
}

describe('STUN codec', () => {
  it('interleaves the class bits of the message type (Binding request 0x0001, success 0x0101, error 0x0111)', () => {
    expect(stunMessageType(1, StunClass.REQUEST)).toBe(0x0001);
    expect(stunMessageType(1, StunClass.INDICATION)).toBe(0x0011);
    expect(stunMessageType(1, StunClass.SUCCESS)).toBe(0x0101);
    expect(stunMessageType(1, StunClass.ERROR)).toBe(0x0111);
    expect(stunMessageType(0xfff, StunClass.ERROR)).toBe(0x3fff);
  });

  it('round-trips any message: method, class, transaction ID, attributes, FINGERPRINT', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xfff }),
        stunClass,
        tid,
        fc.array(unknownAttribute, { maxLength: 6 }),
        fc.boolean(),
        (method, messageClass, transactionId, attributes, fingerprint) => {
          const bytes = encodeStunMessage({ method, messageClass, transactionId, attributes, fingerprint });
          expect(isStunMessage(bytes)).toBe(true);
          const message = decodeStunMessage(bytes);
          expect(message.method).toBe(method);
          expect(message.messageClass).toBe(messageClass);
          expect([...message.transactionId]).toEqual([...transactionId]);
          expect(message.fingerprint).toBe(fingerprint);
          const decoded = message.attributes.filter((a) => a.type !== StunAttributeType.FINGERPRINT);
          expect(decoded.map((a) => [a.type, [...a.value]])).toEqual(
            attributes.map((a) => [a.type, [...a.value]]),
          );
          expect(message.unknownRequired).toEqual(
            attributes.filter((a) => a.type < 0x8000).map((a) => a.type),
          );
        },
      ),
      propertyOptions(300),
    );
  });

  it('round-trips XOR-MAPPED-ADDRESS and MAPPED-ADDRESS for IPv4 and IPv6', () => {
    fc.assert(
      fc.property(tid, endpoint, endpoint, (transactionId, xored, plain) => {
        const bytes = encodeStunMessage({
          method: 1,
          messageClass: StunClass.SUCCESS,
          transactionId,
          attributes: [xorMappedAddressAttribute(xored, transactionId), mappedAddressAttribute(plain)],
          fingerprint: true,
        });
        const message = decodeStunMessage(bytes);
        expect([...message.xorMappedAddress!.ip]).toEqual([...xored.ip]);
        expect(message.xorMappedAddress!.port).toBe(xored.port);
        expect([...message.mappedAddress!.ip]).toEqual([...plain.ip]);
        expect(message.mappedAddress!.port).toBe(plain.port);
      }),
      propertyOptions(300),
    );
  });

  it('XOR-MAPPED-ADDRESS really is XORed (RFC 8489 §14.2)', () => {
    const transactionId = new Uint8Array(12);
    const attribute = xorMappedAddressAttribute({ ip: parseIp('192.0.2.1'), port: 32853 }, transactionId);
    expect([...attribute.value]).toEqual([0, 1, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43]);
  });

  it('pads our Binding request to the size that lets a strict server answer an IPv6 client', () => {
    const request = encodeBindingRequest(new Uint8Array(12));
    expect(request.length).toBe(STUN_PADDED_REQUEST_SIZE);
    const message = decodeStunMessage(request);
    expect(message.software?.startsWith('pilot-ts')).toBe(true);
    expect(message.fingerprint).toBe(true);
    expect(encodeBindingRequest(new Uint8Array(12), { padTo: 0, fingerprint: false }).length).toBe(20);
  });

  it('tells classic RFC 3489 messages apart and accepts them only when asked', () => {
    // What Debian's `stun` client sends: no cookie, a CHANGE-REQUEST.
    const classic = fromHex('00010008018fc515ca027579b00116302ebdfd730003000400000000');
    expect(isStunMessage(classic)).toBe(false);
    expect(isStunMessage(classic, { classic: true })).toBe(true);
    expect(() => decodeStunMessage(classic)).toThrowError(expect.objectContaining({ code: 'NAT_NOT_STUN' }));
    const message = decodeStunMessage(classic, { classic: true });
    expect(message.classic).toBe(true);
    expect(message.transactionId.length).toBe(16);
  });

  it('refuses a FINGERPRINT that is not last, bad lengths, overruns and bad families', () => {
    const transactionId = new Uint8Array(12);
    const good = encodeStunMessage({
      method: 1,
      messageClass: StunClass.REQUEST,
      transactionId,
      fingerprint: true,
    });
    const notLast = new Uint8Array(good.length + 8);
    notLast.set(good);
    notLast.set([0x80, 0x99, 0, 4, 1, 2, 3, 4], good.length);
    notLast[3] = good.length + 8 - 20;
    expect(() => decodeStunMessage(notLast)).toThrowError(
      expect.objectContaining({ code: 'NAT_STUN_MALFORMED' }),
    );
    const family = encodeStunMessage({
      method: 1,
      messageClass: StunClass.SUCCESS,
      transactionId,
      attributes: [
        { type: StunAttributeType.XOR_MAPPED_ADDRESS, value: Uint8Array.of(0, 3, 0, 0, 1, 2, 3, 4) },
      ],
    });
    expect(() => decodeStunMessage(family)).toThrowError(
      expect.objectContaining({ code: 'NAT_STUN_MALFORMED' }),
    );
    const truncated = good.subarray(0, good.length - 4);
    expect(() => decodeStunMessage(truncated)).toThrowError(
      expect.objectContaining({ code: 'NAT_STUN_TRUNCATED' }),
    );
    expect(() =>
      encodeStunMessage({ method: 1, messageClass: 0, transactionId: new Uint8Array(11) }),
    ).toThrowError(expect.objectContaining({ code: 'NAT_OUT_OF_RANGE' }));
  });

  it('throws nothing but NAT_ PilotErrors on hostile input', () => {
    const valid = encodeStunMessage({
      method: 1,
      messageClass: StunClass.SUCCESS,
      transactionId: new Uint8Array(12).fill(7),
      attributes: [
        xorMappedAddressAttribute({ ip: parseIp('2001:db8::1'), port: 9 }, new Uint8Array(12).fill(7)),
        { type: StunAttributeType.ERROR_CODE, value: Uint8Array.of(0, 0, 4, 20, 0xff, 0xfe) },
        { type: StunAttributeType.SOFTWARE, value: Uint8Array.of(0xc3, 0x28) },
      ],
      fingerprint: true,
    });
    for (const input of [...hostileBasics(), ...hostileVariants(valid)]) expectOnlyPilotErrors(input.bytes);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), expectOnlyPilotErrors), propertyOptions());
    // Random bodies behind a plausible header reach the attribute walker.
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (body) => {
        const length = body.length & ~3;
        const bytes = new Uint8Array(20 + length);
        bytes.set([0x01, 0x01, length >>> 8, length & 0xff, 0x21, 0x12, 0xa4, 0x42]);
        bytes.set(body.subarray(0, length), 20);
        expectOnlyPilotErrors(bytes);
      }),
      propertyOptions(),
    );
  });
});
