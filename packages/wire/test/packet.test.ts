import { crc32 as zlibCrc32 } from 'node:zlib';
import { fromHex, hostileBasics, hostileVariants, propertyOptions, toHex } from '@pilot/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createState, encode } from '../src/codec.js';
import {
  decodePacket,
  encodePacket,
  encodePacketInto,
  HEADER_SIZE,
  hasFlag,
  MAX_PAYLOAD,
  type Packet,
  PacketFlag,
  PROTOCOL_VERSION,
  Protocol,
  packetSize,
  packetSourceNode,
} from '../src/index.js';
import { packet as packetCodec } from '../src/packet.js';
import { packet } from './arbitraries.js';
import { expectWireError, wireOutcome } from './expect-wire.js';
import { loadVector } from './load-vector.js';

interface PacketFields extends Omit<Packet, 'payload'> {
  payload: string;
}
interface PacketVectors {
  valid: { name: string; source: string; hex: string; packet: PacketFields }[];
  decodeOnly: { name: string; hex: string; canonical: string; packet: PacketFields }[];
  invalid: { name: string; hex: string; code: string }[];
}

const vectors = loadVector<PacketVectors>('packets.json');

const fromFields = (f: PacketFields): Packet => ({ ...f, payload: fromHex(f.payload) });
const toFields = (p: Packet): PacketFields => ({ ...p, payload: toHex(p.payload) });

describe('packet vectors', () => {
  it('has the spec constants', () => {
    expect(HEADER_SIZE).toBe(34);
    expect(PROTOCOL_VERSION).toBe(1);
    expect(PacketFlag).toEqual({ SYN: 1, ACK: 2, FIN: 4, RST: 8 });
    expect(Protocol).toEqual({ STREAM: 1, DATAGRAM: 2, CONTROL: 3 });
  });

  it.each(vectors.valid)('$name ($source) decodes and re-encodes byte for byte', (v) => {
    const bytes = fromHex(v.hex);
    const decoded = decodePacket(bytes);
    expect(toFields(decoded)).toEqual(v.packet);
    expect(toHex(encodePacket(fromFields(v.packet)))).toBe(v.hex);
    expect(toHex(encodePacket(decoded))).toBe(v.hex);
    expect(packetSize(decoded)).toBe(bytes.length);
    // The CRC field is zlib's CRC-32 over the header with the field zeroed, then the payload.
    const zeroed = bytes.slice();
    zeroed.fill(0, 30, 34);
    expect(new DataView(bytes.buffer).getUint32(30)).toBe(zlibCrc32(zeroed));
  });

  it('matches the spec worked example (bytes 0-29 of the SYN)', () => {
    const syn = encodePacket({
      flags: PacketFlag.SYN,
      protocol: Protocol.STREAM,
      src: { network: 0, node: 1 },
      dst: { network: 0, node: 2 },
      srcPort: 49152,
      dstPort: 1000,
      window: 512,
    });
    expect(toHex(syn.subarray(0, 30))).toBe(
      [
        '11',
        '01',
        '0000',
        '0000',
        '00000001',
        '0000',
        '00000002',
        'c000',
        '03e8',
        '00000000',
        '00000000',
        '0200',
      ].join(''),
    );
    expect(syn.length).toBe(34);
  });

  it.each(vectors.decodeOnly)('$name: bytes past the payload length are ignored', (v) => {
    const decoded = decodePacket(fromHex(v.hex));
    expect(toFields(decoded)).toEqual(v.packet);
    expect(toHex(encodePacket(decoded))).toBe(v.canonical);
  });

  it.each(vectors.invalid)('$name → $code', (v) => {
    expectWireError(() => decodePacket(fromHex(v.hex)), v.code);
  });

  it('decodes the payload as a view, not a copy', () => {
    const bytes = fromHex(vectors.valid[1]!.hex);
    const decoded = decodePacket(bytes);
    expect(decoded.payload.buffer).toBe(bytes.buffer);
    expect(decoded.payload.byteOffset).toBe(34);
  });
});

describe('packet encoding rules', () => {
  const base = {
    protocol: Protocol.DATAGRAM,
    src: { network: 0, node: 1 },
    dst: { network: 0, node: 2 },
    srcPort: 1,
    dstPort: 2,
  };

  it('defaults version 1, zero flags/seq/ack/window, empty payload', () => {
    const decoded = decodePacket(encodePacket(base));
    expect(decoded).toMatchObject({ version: 1, flags: 0, seq: 0, ack: 0, window: 0 });
    expect(decoded.payload.length).toBe(0);
  });

  it('refuses a payload over 65535 bytes with WIRE_TOO_LARGE', () => {
    expect(encodePacket({ ...base, payload: new Uint8Array(MAX_PAYLOAD) }).length).toBe(34 + 65_535);
    expectWireError(() => encodePacket({ ...base, payload: new Uint8Array(65_536) }), 'WIRE_TOO_LARGE');
  });

  it.each([
    ['version', { version: 16 }],
    ['version', { version: -1 }],
    ['flags', { flags: 16 }],
    ['flags', { flags: 0.5 }],
    ['protocol', { protocol: 256 }],
    ['srcPort', { srcPort: 65_536 }],
    ['dstPort', { dstPort: -1 }],
    ['seq', { seq: 2 ** 32 }],
    ['ack', { ack: -1 }],
    ['window', { window: 70_000 }],
    ['src', { src: { network: 1 << 16, node: 0 } }],
    ['dst', { dst: { network: 0, node: 2 ** 32 } }],
    ['seq NaN', { seq: Number.NaN }],
  ])('refuses an out-of-range %s', (_, override) => {
    expectWireError(() => encodePacket({ ...base, ...override }), 'WIRE_OUT_OF_RANGE');
  });

  it('encodes any version nibble (for tests) but decodes only version 1', () => {
    const v2 = encodePacket({ ...base, version: 2 });
    expectWireError(() => decodePacket(v2), 'WIRE_BAD_VERSION');
  });

  it('keeps an unknown protocol byte as a raw number', () => {
    expect(decodePacket(encodePacket({ ...base, protocol: 0x7f })).protocol).toBe(0x7f);
  });

  it('encodePacketInto writes at an offset and validates before writing', () => {
    const target = new Uint8Array(64).fill(0xee);
    const written = encodePacketInto({ ...base, payload: Uint8Array.of(1, 2, 3) }, target, 10);
    expect(written).toBe(37);
    expect(target[9]).toBe(0xee);
    expect(target[47]).toBe(0xee);
    expect(decodePacket(target.subarray(10, 47)).payload).toEqual(Uint8Array.of(1, 2, 3));
    const untouched = new Uint8Array(36).fill(0xee);
    expectWireError(
      () => encodePacketInto({ ...base, payload: Uint8Array.of(1, 2, 3) }, untouched, 0),
      'WIRE_OUT_OF_RANGE',
    );
    expectWireError(() => encodePacketInto(base, new Uint8Array(40), 7), 'WIRE_OUT_OF_RANGE');
    expectWireError(() => encodePacketInto(base, new Uint8Array(40), -1), 'WIRE_OUT_OF_RANGE');
    expectWireError(() => encodePacketInto({ ...base, seq: -1 }, new Uint8Array(40), 0), 'WIRE_OUT_OF_RANGE');
    expect(untouched.every((b) => b === 0xee)).toBe(true);
  });

  it('the packet codec consumes exactly one packet and leaves what follows', () => {
    const one = encodePacket({ ...base, payload: Uint8Array.of(9) });
    const two = new Uint8Array(one.length + 3);
    two.set(one);
    two.set([7, 7, 7], one.length);
    const state = createState(two);
    expect(packetCodec.decode(state).payload).toEqual(Uint8Array.of(9));
    expect(state.start).toBe(one.length);
    expect(toHex(encode(packetCodec, { ...base, payload: Uint8Array.of(9) }))).toBe(toHex(one));
  });

  it('hasFlag tests bit sets', () => {
    expect(hasFlag(PacketFlag.SYN | PacketFlag.ACK, PacketFlag.ACK)).toBe(true);
    expect(hasFlag(PacketFlag.SYN, PacketFlag.ACK)).toBe(false);
    expect(hasFlag(PacketFlag.SYN, PacketFlag.SYN | PacketFlag.ACK)).toBe(false);
  });
});

function withoutPayload<T extends { payload?: Uint8Array }>(p: T): Omit<T, 'payload'> {
  const { payload: _, ...rest } = p;
  return rest;
}

describe('packet properties', () => {
  it('decode(encode(p)) is p for every valid packet', () => {
    fc.assert(
      fc.property(packet(), (p) => {
        const bytes = encodePacket(p);
        expect(bytes.length).toBe(packetSize(p));
        const decoded = decodePacket(bytes);
        const { payload, ...fields } = decoded;
        expect(fields).toEqual(withoutPayload(p));
        expect(Buffer.compare(payload, p.payload)).toBe(0);
        expect(Buffer.compare(encodePacket(decoded), bytes)).toBe(0);
      }),
      propertyOptions(300),
    );
  });

  it('packetSourceNode reads what decode calls src.node; bytes shorter than a header have none', () => {
    fc.assert(
      fc.property(packet(), fc.nat(HEADER_SIZE - 1), (p, cut) => {
        const bytes = encodePacket(p);
        expect(packetSourceNode(bytes)).toBe(decodePacket(bytes).src.node);
        expect(packetSourceNode(bytes.subarray(0, cut))).toBeUndefined();
      }),
      propertyOptions(300),
    );
  });

  it('any single bit flip anywhere in a packet is detected', () => {
    fc.assert(
      fc.property(
        packet().map((p) => ({ ...p, payload: p.payload.subarray(0, 2000) })),
        fc.nat(),
        (p, pick) => {
          const bytes = encodePacket(p);
          const bit = pick % (bytes.length * 8);
          const flipped = bytes.slice();
          flipped[bit >>> 3]! ^= 0x80 >>> (bit & 7);
          const code = wireOutcome(() => decodePacket(flipped));
          // A flip in the payload length may make it claim bytes that are not there: truncation is
          // reported before the checksum is even computed. Every other flip is a checksum error.
          expect(code).toBeDefined();
          if (bit >= 16 && bit < 32) expect(['WIRE_TRUNCATED', 'WIRE_BAD_CHECKSUM']).toContain(code);
          else expect(code).toBe('WIRE_BAD_CHECKSUM');
        },
      ),
      propertyOptions(),
    );
  });

  it('every single bit flip of the spec vectors is detected (exhaustive)', () => {
    for (const v of vectors.valid) {
      const bytes = fromHex(v.hex);
      if (bytes.length > 100) continue;
      for (let bit = 0; bit < bytes.length * 8; bit++) {
        const flipped = bytes.slice();
        flipped[bit >>> 3]! ^= 0x80 >>> (bit & 7);
        expect(wireOutcome(() => decodePacket(flipped))).toBeDefined();
      }
    }
  });

  it('random bytes decode to a packet or a WIRE_ error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        wireOutcome(() => decodePacket(bytes));
      }),
      propertyOptions(),
    );
  });

  it('random bytes with a valid checksum stamped in reach the version check and decode', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 34, maxLength: 120 }), (bytes) => {
        const payloadLength = bytes.length - 34;
        bytes[2] = payloadLength >>> 8;
        bytes[3] = payloadLength & 0xff;
        bytes[0] = (1 << 4) | (bytes[0]! & 0xf);
        const zeroed = bytes.slice();
        zeroed.fill(0, 30, 34);
        new DataView(bytes.buffer).setUint32(30, zlibCrc32(zeroed));
        const decoded = decodePacket(bytes);
        expect(encodePacket(decoded)).toEqual(bytes);
      }),
      propertyOptions(),
    );
  });

  it('hostile inputs: every truncation, bit flip and the basics', () => {
    const inputs = [...hostileBasics(), ...vectors.valid.flatMap((v) => hostileVariants(fromHex(v.hex)))];
    for (const { name, bytes } of inputs) {
      const code = wireOutcome(() => decodePacket(bytes));
      if (name.startsWith('truncated')) expect(code, name).toBe('WIRE_TRUNCATED');
    }
  });
});

// The `aead-checksum-free` tunnel capability: inside an AEAD frame the sender may leave the CRC out
// and the receiver may skip it. The defaults must stay the spec's.
describe('packet checksum options', () => {
  const fieldOf = (bytes: Uint8Array): number => new DataView(bytes.buffer, bytes.byteOffset).getUint32(30);

  it('checksum: false writes the field as zero and every other byte as the default does', () => {
    fc.assert(
      fc.property(packet(), (p) => {
        const full = encodePacket(p);
        const bare = encodePacket(p, { checksum: false });
        expect(fieldOf(bare)).toBe(0);
        expect(Buffer.compare(bare.subarray(0, 30), full.subarray(0, 30))).toBe(0);
        expect(Buffer.compare(bare.subarray(34), full.subarray(34))).toBe(0);
        const into = new Uint8Array(full.length + 7).fill(0xee);
        expect(encodePacketInto(p, into, 7, { checksum: false })).toBe(full.length);
        expect(Buffer.compare(into.subarray(7), bare)).toBe(0);
        // An explicit `checksum: true` is the default.
        expect(Buffer.compare(encodePacket(p, { checksum: true }), full)).toBe(0);
      }),
      propertyOptions(200),
    );
  });

  it('the default decode still refuses a zeroed or wrong checksum (WIRE_BAD_CHECKSUM)', () => {
    fc.assert(
      fc.property(packet(), fc.integer({ min: 0, max: 0xffffffff }), (p, wrong) => {
        const bytes = encodePacket(p, { checksum: false });
        const crc = fieldOf(encodePacket(p));
        if (crc !== 0) expectWireError(() => decodePacket(bytes), 'WIRE_BAD_CHECKSUM');
        if (wrong === crc) return;
        new DataView(bytes.buffer).setUint32(30, wrong);
        expectWireError(() => decodePacket(bytes), 'WIRE_BAD_CHECKSUM');
        expectWireError(() => decodePacket(bytes, { verifyChecksum: true }), 'WIRE_BAD_CHECKSUM');
      }),
      propertyOptions(200),
    );
  });

  it('verifyChecksum: false decodes whatever the field holds, to the same packet', () => {
    fc.assert(
      fc.property(packet(), fc.integer({ min: 0, max: 0xffffffff }), (p, field) => {
        const full = encodePacket(p);
        const bytes = full.slice();
        new DataView(bytes.buffer).setUint32(30, field);
        const decoded = decodePacket(bytes, { verifyChecksum: false });
        const { payload, ...fields } = decoded;
        expect(fields).toEqual(withoutPayload(p));
        expect(Buffer.compare(payload, p.payload)).toBe(0);
        // Re-encoded by default, the checksum is the real one again.
        expect(Buffer.compare(encodePacket(decoded), full)).toBe(0);
      }),
      propertyOptions(200),
    );
  });

  it('verifyChecksum: false still checks truncation and version, in the same order', () => {
    const bytes = encodePacket(
      {
        protocol: Protocol.STREAM,
        src: { network: 0, node: 1 },
        dst: { network: 0, node: 2 },
        srcPort: 1,
        dstPort: 2,
        payload: Uint8Array.of(1, 2, 3),
      },
      { checksum: false },
    );
    expectWireError(() => decodePacket(bytes.subarray(0, 33), { verifyChecksum: false }), 'WIRE_TRUNCATED');
    expectWireError(() => decodePacket(bytes.subarray(0, 36), { verifyChecksum: false }), 'WIRE_TRUNCATED');
    const v2 = bytes.slice();
    v2[0] = (2 << 4) | (v2[0]! & 0xf);
    expectWireError(() => decodePacket(v2, { verifyChecksum: false }), 'WIRE_BAD_VERSION');
  });

  it('random bytes decode without the checksum to a packet or a WIRE_ error (never another)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const code = wireOutcome(() => decodePacket(bytes, { verifyChecksum: false }));
        expect(code).not.toBe('WIRE_BAD_CHECKSUM');
        // What verifies by default decodes the same way without the check.
        if (wireOutcome(() => decodePacket(bytes)) === undefined) expect(code).toBeUndefined();
      }),
      propertyOptions(),
    );
  });

  it('hostile inputs without the checksum: every truncation, bit flip and the basics', () => {
    const inputs = [...hostileBasics(), ...vectors.valid.flatMap((v) => hostileVariants(fromHex(v.hex)))];
    for (const { name, bytes } of inputs) {
      const code = wireOutcome(() => decodePacket(bytes, { verifyChecksum: false }));
      if (name.startsWith('truncated')) expect(code, name).toBe('WIRE_TRUNCATED');
      expect(code, name).not.toBe('WIRE_BAD_CHECKSUM');
    }
  });
});
