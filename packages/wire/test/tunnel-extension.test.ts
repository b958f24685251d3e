import { hostileBasics, hostileVariants, propertyOptions, toHex } from '@pilot/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AUTH_KEY_EXCHANGE_SIZE,
  decodeCapabilities,
  decodePilaExtension,
  encodeCapabilities,
  encodePilaExtensionTail,
  PILA_EXTENSION_SIZE,
  pilaExtensionSignedBytes,
  TunnelCapability,
  TunnelMagic,
  WireErrorCode,
} from '../src/index.js';
import { expectWireError, wireOutcome } from './expect-wire.js';

/** A PILA-shaped frame (the fields' contents do not matter to the extension codec). */
function pila(fill = 0x11): Uint8Array {
  const frame = new Uint8Array(AUTH_KEY_EXCHANGE_SIZE).fill(fill);
  new DataView(frame.buffer).setUint32(0, TunnelMagic.AUTH_KEY_EXCHANGE);
  return frame;
}

function withExtension(tail: Uint8Array, signature = new Uint8Array(64).fill(0x5a)): Uint8Array {
  const base = pila();
  const out = new Uint8Array(base.length + tail.length + signature.length);
  out.set(base);
  out.set(tail, base.length);
  out.set(signature, base.length + tail.length);
  return out;
}

const ephemeral = new Uint8Array(32).fill(0xe1);
const echo = new Uint8Array(32).fill(0xec);

describe('PILX extension codec', () => {
  it('encodes the documented layout and decodes it back', () => {
    const tail = encodePilaExtensionTail({
      capabilities: encodeCapabilities(['forward-secrecy']),
      timestamp: 0x0102030405060708n,
      ephemeral,
      echo,
    });
    expect(toHex(tail.subarray(0, 20))).toBe(
      '50494c58' + '01' + '00' + '004c' + '00000001' + '0102030405060708',
    );
    const frame = withExtension(tail);
    expect(frame.length).toBe(AUTH_KEY_EXCHANGE_SIZE + PILA_EXTENSION_SIZE);
    const decoded = decodePilaExtension(frame);
    expect(decoded).toBeDefined();
    expect(decoded?.capabilities).toBe(1);
    expect(decoded?.timestamp).toBe(0x0102030405060708n);
    expect(toHex(decoded?.ephemeral ?? new Uint8Array())).toBe(toHex(ephemeral));
    expect(toHex(decoded?.echo ?? new Uint8Array())).toBe(toHex(echo));
    expect(toHex(decoded?.signature ?? new Uint8Array())).toBe('5a'.repeat(64));
    expect(toHex(decoded?.signedTail ?? new Uint8Array())).toBe(toHex(tail));
  });

  it('zero keys mean "none"', () => {
    const decoded = decodePilaExtension(
      withExtension(
        encodePilaExtensionTail({ capabilities: 0, timestamp: 1n, ephemeral: undefined, echo: undefined }),
      ),
    );
    expect(decoded?.ephemeral).toBeUndefined();
    expect(decoded?.echo).toBeUndefined();
  });

  it('a reference PILA, foreign trailing bytes and another version are "no extension"', () => {
    expect(decodePilaExtension(pila())).toBeUndefined();
    expect(decodePilaExtension(withExtension(Uint8Array.of(1, 2, 3), new Uint8Array(0)))).toBeUndefined();
    const tail = encodePilaExtensionTail({ capabilities: 1, timestamp: 1n, ephemeral, echo: undefined });
    tail[4] = 2;
    expect(decodePilaExtension(withExtension(tail))).toBeUndefined();
  });

  it('a longer body (later fields) is accepted and signed; bytes after the signature are ignored', () => {
    const tail = encodePilaExtensionTail({ capabilities: 3, timestamp: 9n, ephemeral, echo });
    const longer = new Uint8Array(tail.length + 10);
    longer.set(tail);
    longer[7] = 76 + 10;
    const frame = withExtension(longer);
    const padded = new Uint8Array(frame.length + 5);
    padded.set(frame);
    const decoded = decodePilaExtension(padded);
    expect(decoded?.signedTail.length).toBe(longer.length);
    expect(decoded?.capabilities).toBe(3);
  });

  it('malformed PILX is a typed WIRE_ error', () => {
    const good = withExtension(encodePilaExtensionTail({ capabilities: 1, timestamp: 1n, ephemeral, echo }));
    expectWireError(
      () => decodePilaExtension(good.subarray(0, AUTH_KEY_EXCHANGE_SIZE + 6)),
      WireErrorCode.TRUNCATED,
    );
    expectWireError(() => decodePilaExtension(good.subarray(0, good.length - 1)), WireErrorCode.TRUNCATED);
    const short = good.slice();
    short[AUTH_KEY_EXCHANGE_SIZE + 7] = 75;
    expectWireError(() => decodePilaExtension(short), WireErrorCode.LENGTH_MISMATCH);
    const huge = good.slice();
    huge[AUTH_KEY_EXCHANGE_SIZE + 6] = 0xff;
    expectWireError(() => decodePilaExtension(huge), WireErrorCode.LENGTH_MISMATCH);
    const notPila = good.slice();
    notPila[3] = 0x53;
    expectWireError(() => decodePilaExtension(notPila), WireErrorCode.BAD_MAGIC);
    expectWireError(() => decodePilaExtension(good.subarray(0, 100)), WireErrorCode.TRUNCATED);
  });

  it('the encoder refuses values it cannot represent', () => {
    const base = { capabilities: 0, timestamp: 0n, ephemeral: undefined, echo: undefined };
    expectWireError(() => encodePilaExtensionTail({ ...base, capabilities: -1 }), WireErrorCode.OUT_OF_RANGE);
    expectWireError(
      () => encodePilaExtensionTail({ ...base, timestamp: 1n << 64n }),
      WireErrorCode.OUT_OF_RANGE,
    );
    expectWireError(
      () => encodePilaExtensionTail({ ...base, ephemeral: new Uint8Array(31) }),
      WireErrorCode.LENGTH_MISMATCH,
    );
  });

  it('capability names and bits', () => {
    expect(encodeCapabilities([TunnelCapability.FORWARD_SECRECY, TunnelCapability.LARGE_DATAGRAMS])).toBe(3);
    expect(encodeCapabilities([TunnelCapability.AEAD_CHECKSUM_FREE])).toBe(4);
    expect(decodeCapabilities(7)).toEqual(['forward-secrecy', 'large-datagrams', 'aead-checksum-free']);
    // Unknown bits (a later build's) are ignored.
    expect(decodeCapabilities(0xffff_fff8 | 1)).toEqual(['forward-secrecy']);
    expect(decodeCapabilities(0)).toEqual([]);
    expectWireError(() => encodeCapabilities(['teleport']), WireErrorCode.BAD_VALUE);
  });

  it('the signed bytes bind the extension to the PILA fields', () => {
    const frame = pila(0x22);
    const signed = pilaExtensionSignedBytes(frame, Uint8Array.of(9, 9));
    expect(new TextDecoder().decode(signed.subarray(0, 16))).toBe('pilot-ts pilx v1');
    expect(toHex(signed.subarray(16, 84))).toBe('22'.repeat(68));
    expect(toHex(signed.subarray(84))).toBe('0909');
  });

  it('random bytes after a PILA (with or without the PILX magic) give a value or a WIRE_ error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.boolean(), fc.nat(1100), (bytes, magic, body) => {
        const frame = new Uint8Array(AUTH_KEY_EXCHANGE_SIZE + bytes.length);
        frame.set(pila());
        frame.set(bytes, AUTH_KEY_EXCHANGE_SIZE);
        if (magic && bytes.length >= 8) {
          new DataView(frame.buffer).setUint32(AUTH_KEY_EXCHANGE_SIZE, 0x50494c58);
          frame[AUTH_KEY_EXCHANGE_SIZE + 4] = 1;
          new DataView(frame.buffer).setUint16(AUTH_KEY_EXCHANGE_SIZE + 6, body);
        }
        const code = wireOutcome(() => decodePilaExtension(frame));
        if (code === undefined) {
          const decoded = decodePilaExtension(frame);
          if (decoded !== undefined) expect(decoded.signature.length).toBe(64);
        }
      }),
      propertyOptions(),
    );
  });

  it('hostile inputs and variants of a valid extension give a value or a WIRE_ error', () => {
    const good = withExtension(encodePilaExtensionTail({ capabilities: 1, timestamp: 7n, ephemeral, echo }));
    const inputs = [...hostileBasics(), ...hostileVariants(good)];
    for (const { bytes } of inputs) wireOutcome(() => decodePilaExtension(bytes));
  });
});
