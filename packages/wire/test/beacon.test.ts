import { fromHex, hostileBasics, hostileVariants, propertyOptions, toHex } from '@pilot/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BEACON_MAX_RELAY_FRAME,
  type BeaconMessage,
  BeaconMessageType,
  decodeBeaconMessage,
  encodeBeaconMessage,
  type IpEndpoint,
  isBeaconMessage,
} from '../src/index.js';
import { u32 } from './arbitraries.js';
import { expectWireError, survives, withBytes } from './frame-helpers.js';
import { loadVector } from './load-vector.js';

interface BeaconVectors {
  valid: { name: string; hex: string; message: unknown }[];
  invalid: { name: string; hex: string; error: string }[];
}

const vectors = loadVector<BeaconVectors>('beacon-messages.json');

const endpoint = (): fc.Arbitrary<IpEndpoint> =>
  fc.record({
    ip: fc.oneof(
      fc.uint8Array({ minLength: 4, maxLength: 4 }),
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
    ),
    port: fc.integer({ min: 0, max: 0xffff }),
  });

const frame = (): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength: 200 });

const beaconMessage = (): fc.Arbitrary<BeaconMessage> =>
  fc.oneof(
    fc.record({ type: fc.constant('discover' as const), node: u32() }),
    fc.record({ type: fc.constant('discoverReply' as const), endpoint: endpoint() }),
    fc.record({ type: fc.constant('punchRequest' as const), requester: u32(), target: u32() }),
    fc.record({ type: fc.constant('punchCommand' as const), endpoint: endpoint() }),
    fc.record({ type: fc.constant('relay' as const), source: u32(), destination: u32(), frame: frame() }),
    fc.record({ type: fc.constant('relayDeliver' as const), source: u32(), frame: frame() }),
    fc.record({
      type: fc.constant('sync' as const),
      beaconId: u32(),
      nodes: fc.array(u32(), { maxLength: 300 }),
    }),
  );

describe('beacon messages: vectors', () => {
  for (const vector of vectors.valid) {
    it(`decodes and encodes ${vector.name}`, () => {
      const bytes = fromHex(vector.hex);
      const message = withBytes<BeaconMessage>(vector.message);
      expect(decodeBeaconMessage(bytes)).toEqual(message);
      expect(toHex(encodeBeaconMessage(message))).toBe(toHex(bytes));
      expect(isBeaconMessage(bytes)).toBe(true);
    });
  }
  for (const vector of vectors.invalid) {
    it(`refuses ${vector.name} with ${vector.error}`, () => {
      expectWireError(() => decodeBeaconMessage(fromHex(vector.hex)), vector.error);
    });
  }

  it('covers every message type', () => {
    const seen = new Set(vectors.valid.map((vector) => fromHex(vector.hex)[0]));
    for (const type of Object.values(BeaconMessageType)) expect(seen.has(type)).toBe(true);
  });
});

describe('beacon messages: decoding is zero-copy', () => {
  it('returns relayed frames and endpoint IPs as views of the input', () => {
    const relay = fromHex('05 00000005 00000007 50494C50');
    const decoded = decodeBeaconMessage(relay);
    if (decoded.type !== 'relay') throw new Error('expected a relay');
    expect(decoded.frame.buffer).toBe(relay.buffer);
    const reply = fromHex('02 04 CB007107 2329');
    const decodedReply = decodeBeaconMessage(reply);
    if (decodedReply.type !== 'discoverReply') throw new Error('expected a discover reply');
    expect(decodedReply.endpoint.ip.buffer).toBe(reply.buffer);
  });
});

describe('beacon messages: encoder checks', () => {
  it('refuses an IP that is neither 4 nor 16 bytes', () => {
    for (const length of [0, 3, 5, 6, 15, 17]) {
      expectWireError(
        () =>
          encodeBeaconMessage({ type: 'discoverReply', endpoint: { ip: new Uint8Array(length), port: 1 } }),
        'WIRE_BAD_VALUE',
      );
    }
  });
  it('refuses numbers out of range', () => {
    expectWireError(() => encodeBeaconMessage({ type: 'discover', node: -1 }), 'WIRE_OUT_OF_RANGE');
    expectWireError(() => encodeBeaconMessage({ type: 'discover', node: 2 ** 32 }), 'WIRE_OUT_OF_RANGE');
    expectWireError(() => encodeBeaconMessage({ type: 'discover', node: 1.5 }), 'WIRE_OUT_OF_RANGE');
    expectWireError(
      () => encodeBeaconMessage({ type: 'punchCommand', endpoint: { ip: new Uint8Array(4), port: 65_536 } }),
      'WIRE_OUT_OF_RANGE',
    );
    expectWireError(
      () => encodeBeaconMessage({ type: 'sync', beaconId: 1, nodes: [1, -2] }),
      'WIRE_OUT_OF_RANGE',
    );
    expectWireError(
      () => encodeBeaconMessage({ type: 'sync', beaconId: 1, nodes: new Array<number>(65_536).fill(1) }),
      'WIRE_OUT_OF_RANGE',
    );
  });
  it('carries a relayed frame of exactly 65535 bytes', () => {
    const frame = new Uint8Array(BEACON_MAX_RELAY_FRAME).fill(0x50);
    const decoded = decodeBeaconMessage(encodeBeaconMessage({ type: 'relayDeliver', source: 3, frame }));
    if (decoded.type !== 'relayDeliver') throw new Error('expected a relay deliver');
    expect(decoded.frame.length).toBe(BEACON_MAX_RELAY_FRAME);
    expect(decoded.frame.every((byte) => byte === 0x50)).toBe(true);
  });
  it('refuses a relayed frame over 65535 bytes, and a decoder refuses one too', () => {
    const big = new Uint8Array(BEACON_MAX_RELAY_FRAME + 1);
    expectWireError(
      () => encodeBeaconMessage({ type: 'relay', source: 1, destination: 2, frame: big }),
      'WIRE_OUT_OF_RANGE',
    );
    expectWireError(
      () => encodeBeaconMessage({ type: 'relayDeliver', source: 1, frame: big }),
      'WIRE_OUT_OF_RANGE',
    );
    const datagram = new Uint8Array(9 + big.length);
    datagram[0] = BeaconMessageType.RELAY;
    expectWireError(() => decodeBeaconMessage(datagram), 'WIRE_TOO_LARGE');
  });
  it('refuses an unknown message type', () => {
    expectWireError(
      () => encodeBeaconMessage({ type: 'hello' } as unknown as BeaconMessage),
      'WIRE_BAD_VALUE',
    );
  });
});

describe('beacon messages: properties', () => {
  it('decode(encode(m)) equals m, and the encoding is canonical', () => {
    fc.assert(
      fc.property(beaconMessage(), (message) => {
        const bytes = encodeBeaconMessage(message);
        expect(decodeBeaconMessage(bytes)).toEqual(message);
        expect(isBeaconMessage(bytes)).toBe(true);
      }),
      propertyOptions(),
    );
  });

  it('re-encoding whatever decodes gives back the same bytes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 7 }), fc.uint8Array({ maxLength: 40 }), (type, rest) => {
        const bytes = new Uint8Array(1 + rest.length);
        bytes[0] = type;
        bytes.set(rest, 1);
        let message: BeaconMessage;
        try {
          message = decodeBeaconMessage(bytes);
        } catch {
          return;
        }
        expect(toHex(encodeBeaconMessage(message))).toBe(toHex(bytes));
      }),
      propertyOptions(),
    );
  });

  it('random bytes give a message or a WIRE_ error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => survives(() => decodeBeaconMessage(bytes))),
      propertyOptions(),
    );
  });

  it('hostile inputs give a message or a WIRE_ error', () => {
    const inputs = [...hostileBasics()];
    for (const vector of vectors.valid) inputs.push(...hostileVariants(fromHex(vector.hex)));
    for (const input of inputs)
      expect(
        survives(() => decodeBeaconMessage(input.bytes)),
        input.name,
      ).toBe(true);
  });

  it('mutations of random valid messages give a message or a WIRE_ error', () => {
    fc.assert(
      fc.property(beaconMessage(), fc.nat(), fc.nat(), (message, at, bit) => {
        const bytes = encodeBeaconMessage(message);
        if (bytes.length === 0) return;
        const flipped = bytes.slice();
        flipped[at % bytes.length] = flipped[at % bytes.length]! ^ (1 << (bit % 8));
        survives(() => decodeBeaconMessage(flipped));
        survives(() => decodeBeaconMessage(bytes.subarray(0, at % bytes.length)));
      }),
      propertyOptions(),
    );
  });
});
