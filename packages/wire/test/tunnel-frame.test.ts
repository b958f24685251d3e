import { createDecipheriv, createPublicKey, verify } from 'node:crypto';
import { fromHex, hostileBasics, hostileVariants, propertyOptions, toHex } from '@pilot/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AUTH_KEY_EXCHANGE_SIZE,
  authKeyExchangeSignedBytes,
  decodePacket,
  decodeTunnelFrame,
  decodeTunnelPacket,
  encodeEncryptedFrameHeaderInto,
  encodePacket,
  encodePlaintextFrame,
  encodeTunnelFrame,
  encodeTunnelFrameInto,
  isBeaconDatagram,
  KEY_EXCHANGE_SIZE,
  Protocol,
  peekTunnelMagic,
  type TunnelFrame,
  TunnelMagic,
  tunnelFrameSize,
} from '../src/index.js';
import { packet, tunnelFrame } from './arbitraries.js';
import { expectWireError, wireOutcome } from './expect-wire.js';
import { loadVector } from './load-vector.js';

type HexFrame = Record<string, string | number> & { kind: TunnelFrame['kind'] };
interface FrameVectors {
  valid: {
    name: string;
    source: string;
    hex: string;
    frame: HexFrame;
    tunnelKey?: string;
    plaintext?: string;
    signedBytes?: string;
  }[];
  decodeOnly: { name: string; hex: string; frame: HexFrame | null; canonical: string; exactCode?: string }[];
  invalid: { name: string; hex: string; code: string }[];
}

const vectors = loadVector<FrameVectors>('tunnel-frames.json');

/** The frame with its byte fields as hex, for comparison with the JSON. */
function toHexFields(frame: TunnelFrame): HexFrame {
  const out: HexFrame = { kind: frame.kind };
  for (const [key, value] of Object.entries(frame)) {
    out[key] = value instanceof Uint8Array ? toHex(value) : (value as string | number);
  }
  return out;
}

function fromHexFields(frame: HexFrame): TunnelFrame {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(frame)) {
    out[key] = key === 'kind' || typeof value === 'number' ? value : fromHex(value);
  }
  return out as unknown as TunnelFrame;
}

const frameEquals = (a: TunnelFrame, b: TunnelFrame): void => expect(toHexFields(a)).toEqual(toHexFields(b));

describe('tunnel frame vectors', () => {
  it('has the spec magics', () => {
    const ascii = (n: number): string =>
      String.fromCharCode(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
    expect(Object.values(TunnelMagic).map(ascii)).toEqual(['PILT', 'PILS', 'PILK', 'PILA', 'PILP']);
  });

  it.each(vectors.valid)('$name ($source) decodes and re-encodes byte for byte', (v) => {
    const bytes = fromHex(v.hex);
    const frame = decodeTunnelFrame(bytes);
    expect(toHexFields(frame)).toEqual(v.frame);
    expect(toHex(encodeTunnelFrame(frame))).toBe(v.hex);
    expect(toHex(encodeTunnelFrame(fromHexFields(v.frame)))).toBe(v.hex);
    expect(tunnelFrameSize(frame)).toBe(bytes.length);
    expect(decodeTunnelFrame(bytes, { exact: true })).toEqual(frame);
  });

  it('the spec PILS opens with the spec tunnel key and the sender node as AAD', () => {
    const v = vectors.valid.find((x) => x.frame.kind === 'encrypted' && x.tunnelKey !== undefined)!;
    const frame = decodeTunnelFrame(fromHex(v.hex));
    if (frame.kind !== 'encrypted') throw new Error('expected PILS');
    const aad = fromHex(v.hex).subarray(4, 8);
    const decipher = createDecipheriv('aes-256-gcm', fromHex(v.tunnelKey!), frame.nonce);
    decipher.setAAD(aad);
    decipher.setAuthTag(frame.ciphertext.subarray(-16));
    const plain = Buffer.concat([decipher.update(frame.ciphertext.subarray(0, -16)), decipher.final()]);
    expect(toHex(plain)).toBe(v.plaintext);
    expect(decodePacket(plain).flags).toBe(1);
  });

  it('the spec PILA signature verifies over authKeyExchangeSignedBytes', () => {
    const v = vectors.valid.find((x) => x.frame.kind === 'auth-key-exchange')!;
    const frame = decodeTunnelFrame(fromHex(v.hex));
    if (frame.kind !== 'auth-key-exchange') throw new Error('expected PILA');
    const signed = authKeyExchangeSignedBytes(frame.senderNode, frame.x25519PublicKey);
    expect(toHex(signed)).toBe(v.signedBytes);
    const key = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(frame.ed25519PublicKey).toString('base64url') },
      format: 'jwk',
    });
    expect(verify(null, signed, key, frame.signature)).toBe(true);
    const tampered = signed.slice();
    tampered[4]! ^= 1;
    expect(verify(null, tampered, key, frame.signature)).toBe(false);
  });

  it.each(vectors.decodeOnly)('$name', (v) => {
    const bytes = fromHex(v.hex);
    const frame = decodeTunnelFrame(bytes);
    if (v.frame !== null) expect(toHexFields(frame)).toEqual(v.frame);
    expect(toHex(encodeTunnelFrame(frame))).toBe(v.canonical);
    if (v.exactCode !== undefined)
      expectWireError(() => decodeTunnelFrame(bytes, { exact: true }), v.exactCode);
  });

  it.each(vectors.invalid)('$name → $code', (v) => {
    expectWireError(() => decodeTunnelFrame(fromHex(v.hex)), v.code);
  });

  it('decodes byte fields as views of the datagram', () => {
    const bytes = fromHex(vectors.valid.find((x) => x.frame.kind === 'auth-key-exchange')!.hex);
    const frame = decodeTunnelFrame(bytes);
    if (frame.kind !== 'auth-key-exchange') throw new Error('expected PILA');
    expect(frame.signature.buffer).toBe(bytes.buffer);
    expect(frame.signature.byteOffset).toBe(72);
  });
});

describe('tunnel frame helpers', () => {
  const syn = {
    flags: 1,
    protocol: Protocol.STREAM,
    src: { network: 0, node: 1 },
    dst: { network: 0, node: 2 },
    srcPort: 49152,
    dstPort: 1000,
    window: 512,
  };

  it('encodePlaintextFrame = PILT ‖ encodePacket, and decodeTunnelPacket reverses it', () => {
    const frame = encodePlaintextFrame(syn);
    expect(toHex(frame)).toBe(`50494c54${toHex(encodePacket(syn))}`);
    expect(decodeTunnelPacket(frame)).toEqual(decodePacket(encodePacket(syn)));
    expectWireError(() => decodeTunnelPacket(fromHex('50494c50')), 'WIRE_BAD_MAGIC');
    expectWireError(() => decodeTunnelPacket(fromHex('5049')), 'WIRE_TRUNCATED');
    const corrupt = frame.slice();
    corrupt[10]! ^= 4;
    expectWireError(() => decodeTunnelPacket(corrupt), 'WIRE_BAD_CHECKSUM');
  });

  it('isBeaconDatagram follows the reference rule: first byte below 0x10', () => {
    expect(isBeaconDatagram(new Uint8Array(0))).toBe(false);
    for (let b = 0; b < 256; b++) expect(isBeaconDatagram(Uint8Array.of(b, 0, 0, 0))).toBe(b < 0x10);
    for (const magic of Object.values(TunnelMagic)) {
      const bytes = new Uint8Array(4);
      new DataView(bytes.buffer).setUint32(0, magic);
      expect(isBeaconDatagram(bytes)).toBe(false);
      expect(peekTunnelMagic(bytes)).toBe(magic);
    }
    expect(peekTunnelMagic(Uint8Array.of(0x50, 0x49, 0x4c))).toBeUndefined();
  });

  it('authKeyExchangeSignedBytes is "auth" ‖ u32 node ‖ key, and checks its arguments', () => {
    const key = new Uint8Array(32).fill(7);
    expect(toHex(authKeyExchangeSignedBytes(0x01020304, key))).toBe(`6175746801020304${'07'.repeat(32)}`);
    expectWireError(() => authKeyExchangeSignedBytes(0, new Uint8Array(31)), 'WIRE_LENGTH_MISMATCH');
    expectWireError(() => authKeyExchangeSignedBytes(-1, key), 'WIRE_OUT_OF_RANGE');
  });

  it('encoders refuse fields of the wrong size', () => {
    const k32 = new Uint8Array(32);
    const cases: [TunnelFrame, string][] = [
      [{ kind: 'plaintext', packet: new Uint8Array(33) }, 'WIRE_LENGTH_MISMATCH'],
      [
        { kind: 'encrypted', senderNode: 1, nonce: new Uint8Array(11), ciphertext: new Uint8Array(16) },
        'WIRE_LENGTH_MISMATCH',
      ],
      [
        { kind: 'encrypted', senderNode: 1, nonce: new Uint8Array(12), ciphertext: new Uint8Array(15) },
        'WIRE_LENGTH_MISMATCH',
      ],
      [
        { kind: 'encrypted', senderNode: 2 ** 32, nonce: new Uint8Array(12), ciphertext: new Uint8Array(16) },
        'WIRE_OUT_OF_RANGE',
      ],
      [{ kind: 'key-exchange', senderNode: 1, x25519PublicKey: new Uint8Array(33) }, 'WIRE_LENGTH_MISMATCH'],
      [{ kind: 'key-exchange', senderNode: -1, x25519PublicKey: k32 }, 'WIRE_OUT_OF_RANGE'],
      [
        {
          kind: 'auth-key-exchange',
          senderNode: 1,
          x25519PublicKey: k32,
          ed25519PublicKey: k32,
          signature: new Uint8Array(63),
        },
        'WIRE_LENGTH_MISMATCH',
      ],
      [
        {
          kind: 'auth-key-exchange',
          senderNode: 1,
          x25519PublicKey: k32,
          ed25519PublicKey: new Uint8Array(0),
          signature: new Uint8Array(64),
        },
        'WIRE_LENGTH_MISMATCH',
      ],
      [{ kind: 'bogus' } as unknown as TunnelFrame, 'WIRE_BAD_VALUE'],
    ];
    for (const [frame, code] of cases) {
      expectWireError(() => encodeTunnelFrame(frame), code);
      expectWireError(() => encodeTunnelFrameInto(frame, new Uint8Array(300)), code);
    }
  });

  it('encodeTunnelFrameInto writes at an offset, and refuses a short target before writing', () => {
    const frame: TunnelFrame = {
      kind: 'key-exchange',
      senderNode: 9,
      x25519PublicKey: new Uint8Array(32).fill(1),
    };
    const target = new Uint8Array(50).fill(0xee);
    expect(encodeTunnelFrameInto(frame, target, 5)).toBe(KEY_EXCHANGE_SIZE);
    expect(target.subarray(5, 45)).toEqual(encodeTunnelFrame(frame));
    expect(target[4]).toBe(0xee);
    expect(target[45]).toBe(0xee);
    const short = new Uint8Array(39).fill(0xee);
    expectWireError(() => encodeTunnelFrameInto(frame, short), 'WIRE_OUT_OF_RANGE');
    expect(short.every((b) => b === 0xee)).toBe(true);
  });

  it('encodeEncryptedFrameHeaderInto writes the 20-byte PILS head', () => {
    const target = new Uint8Array(40);
    const nonce = Uint8Array.from({ length: 12 }, (_, i) => i + 1);
    expect(encodeEncryptedFrameHeaderInto(0xabcdef01, nonce, target, 2)).toBe(20);
    expect(toHex(target.subarray(2, 22))).toBe(`50494c53abcdef01${toHex(nonce)}`);
    expectWireError(() => encodeEncryptedFrameHeaderInto(1, nonce, new Uint8Array(19)), 'WIRE_OUT_OF_RANGE');
    expectWireError(
      () => encodeEncryptedFrameHeaderInto(1, new Uint8Array(8), target),
      'WIRE_LENGTH_MISMATCH',
    );
  });

  it('a punch is encoded as the magic alone', () => {
    expect(toHex(encodeTunnelFrame({ kind: 'punch' }))).toBe('50494c50');
    expect(AUTH_KEY_EXCHANGE_SIZE).toBe(136);
  });
});

describe('tunnel frame properties', () => {
  it('decode(encode(frame)) is frame for every valid frame', () => {
    fc.assert(
      fc.property(tunnelFrame(), (frame) => {
        const bytes = encodeTunnelFrame(frame);
        expect(bytes.length).toBe(tunnelFrameSize(frame));
        frameEquals(decodeTunnelFrame(bytes, { exact: true }), frame);
      }),
      propertyOptions(),
    );
  });

  it('PILT frames of valid packets round-trip through decodeTunnelPacket', () => {
    fc.assert(
      fc.property(packet(), (p) => {
        const decoded = decodeTunnelPacket(encodePlaintextFrame(p));
        expect(encodePacket(decoded)).toEqual(encodePacket(p));
      }),
      propertyOptions(200),
    );
  });

  it('random bytes, with or without a real magic, give a frame or a WIRE_ error', () => {
    const magics = Object.values(TunnelMagic);
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.nat(magics.length),
        fc.boolean(),
        (bytes, pick, exact) => {
          if (pick < magics.length && bytes.length >= 4)
            new DataView(bytes.buffer).setUint32(0, magics[pick]!);
          wireOutcome(() => decodeTunnelFrame(bytes, { exact }));
          wireOutcome(() => decodeTunnelPacket(bytes));
        },
      ),
      propertyOptions(),
    );
  });

  it('hostile variants of every vector give a frame or a WIRE_ error', () => {
    const inputs = [...hostileBasics(), ...vectors.valid.flatMap((v) => hostileVariants(fromHex(v.hex)))];
    for (const { bytes } of inputs) {
      wireOutcome(() => decodeTunnelFrame(bytes));
      wireOutcome(() => decodeTunnelFrame(bytes, { exact: true }));
      wireOutcome(() => decodeTunnelPacket(bytes));
    }
  });
});
