import { fromHex, hostileBasics, hostileVariants, propertyOptions, toHex } from '@pilot/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeFrame,
  decodeIpcMessage,
  decodeJsonMessage,
  encodeFrame,
  encodeFrameHeader,
  encodeIpcFrame,
  encodeIpcMessage,
  encodeJsonFrame,
  FrameDecoder,
  IPC_MAX_FRAME,
  isPilotError,
  REFERENCE_REGISTRY_MAX_FRAME,
  REGISTRY_MAX_FRAME,
} from '../src/index.js';
import { concatBytes, cutAt, expectWireError, survives } from './frame-helpers.js';
import { loadVector } from './load-vector.js';

interface FrameVectors {
  frames: { name: string; hex: string; payload: string }[];
  invalidFrames: { name: string; hex: string; maxSize: number; error: string }[];
  json: { name: string; hex: string; value: Record<string, unknown> }[];
  invalidJson: { name: string; hex: string; error: string }[];
}

const vectors = loadVector<FrameVectors>('frame-length-prefixed.json');

describe('length-prefixed frames: vectors', () => {
  it('has the limits of the spec (1 MiB) and of the April registry (4 MiB)', () => {
    expect(IPC_MAX_FRAME).toBe(1024 * 1024);
    expect(REGISTRY_MAX_FRAME).toBe(1024 * 1024);
    expect(REFERENCE_REGISTRY_MAX_FRAME).toBe(4 * 1024 * 1024);
  });
  for (const vector of vectors.frames) {
    it(`frames and unframes ${vector.name}`, () => {
      const bytes = fromHex(vector.hex);
      const payload = fromHex(vector.payload);
      expect(toHex(encodeFrame(payload))).toBe(toHex(bytes));
      expect(toHex(decodeFrame(bytes))).toBe(toHex(payload));
      expect(new FrameDecoder().push(bytes).map(toHex)).toEqual([toHex(payload)]);
      expect(toHex(encodeFrameHeader(payload.length))).toBe(toHex(bytes.subarray(0, 4)));
    });
  }
  for (const vector of vectors.invalidFrames) {
    it(`decodeFrame refuses ${vector.name} with ${vector.error}`, () => {
      expectWireError(() => decodeFrame(fromHex(vector.hex), vector.maxSize), vector.error);
    });
  }
});

describe('JSON messages: vectors', () => {
  for (const vector of vectors.json) {
    it(`decodes ${vector.name}`, () => {
      expect(decodeJsonMessage(fromHex(vector.hex))).toEqual(vector.value);
      const framed = encodeJsonFrame(vector.value);
      expect(decodeJsonMessage(decodeFrame(framed, REGISTRY_MAX_FRAME))).toEqual(vector.value);
    });
  }
  it('writes the registry lookup request byte for byte', () => {
    const lookup = vectors.frames.find((vector) => vector.name === 'registry lookup request')!;
    expect(toHex(encodeJsonFrame({ type: 'lookup', node_id: 5 }))).toBe(toHex(fromHex(lookup.hex)));
  });
  for (const vector of vectors.invalidJson) {
    it(`refuses ${vector.name} with ${vector.error}`, () => {
      expectWireError(() => decodeJsonMessage(fromHex(vector.hex)), vector.error);
    });
  }
  it('refuses values JSON cannot write', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expectWireError(() => encodeJsonFrame(cyclic), 'WIRE_BAD_VALUE');
    expectWireError(() => encodeJsonFrame({ n: 1n }), 'WIRE_BAD_VALUE');
    expectWireError(() => encodeJsonFrame({ toJSON: () => [1] }), 'WIRE_BAD_VALUE');
  });
  it('refuses a JSON text over the limit', () => {
    expectWireError(() => encodeJsonFrame({ blob: 'x'.repeat(100) }, 50), 'WIRE_OUT_OF_RANGE');
  });
  it('carries lone surrogates as JSON escapes, which decode back to the same string', () => {
    const value = { text: 'a\uD800b' };
    expect(decodeJsonMessage(decodeFrame(encodeJsonFrame(value), REGISTRY_MAX_FRAME))).toEqual(value);
  });
  it('survives hostile JSON bytes', () => {
    for (const input of hostileBasics()) expect(survives(() => decodeJsonMessage(input.bytes))).toBe(true);
    for (const input of hostileVariants(fromHex(vectors.json[0]!.hex))) {
      expect(
        survives(() => decodeJsonMessage(input.bytes)),
        input.name,
      ).toBe(true);
    }
  });
});

describe('encodeFrame checks', () => {
  it('refuses a payload over the limit', () => {
    expectWireError(() => encodeFrame(new Uint8Array(11), 10), 'WIRE_OUT_OF_RANGE');
    expectWireError(() => encodeFrameHeader(IPC_MAX_FRAME + 1), 'WIRE_OUT_OF_RANGE');
    expect(encodeFrame(new Uint8Array(10), 10).length).toBe(14);
  });
  it('refuses a limit that is not a u32', () => {
    for (const bad of [-1, 1.5, 2 ** 32, Number.NaN]) {
      expectWireError(() => encodeFrame(new Uint8Array(0), bad), 'WIRE_OUT_OF_RANGE');
      expectWireError(() => new FrameDecoder(bad), 'WIRE_OUT_OF_RANGE');
    }
  });
  it('refuses a negative or fractional header length', () => {
    expectWireError(() => encodeFrameHeader(-1), 'WIRE_OUT_OF_RANGE');
    expectWireError(() => encodeFrameHeader(0.5), 'WIRE_OUT_OF_RANGE');
  });
});

describe('FrameDecoder', () => {
  it('hands out frames that arrive whole as views of the chunk', () => {
    const chunk = concatBytes([encodeFrame(Uint8Array.of(1, 2)), encodeFrame(Uint8Array.of(3))]);
    const frames = new FrameDecoder().push(chunk);
    expect(frames.map(toHex)).toEqual(['0102', '03']);
    for (const frame of frames) expect(frame.buffer).toBe(chunk.buffer);
  });

  it('joins a frame split byte by byte', () => {
    const decoder = new FrameDecoder();
    const bytes = encodeFrame(Uint8Array.of(9, 8, 7));
    const out: Uint8Array[] = [];
    for (const byte of bytes) {
      out.push(...decoder.push(Uint8Array.of(byte)));
      if (out.length === 0) expect(decoder.bufferedBytes).toBeGreaterThan(0);
    }
    expect(out.map(toHex)).toEqual(['090807']);
    expect(decoder.bufferedBytes).toBe(0);
    decoder.end();
  });

  it('holds only the bytes it received for a large announced frame', () => {
    const decoder = new FrameDecoder();
    expect(decoder.push(Uint8Array.of(0x00, 0x10, 0x00, 0x00, 1))).toEqual([]);
    expect(decoder.bufferedBytes).toBe(5);
  });

  it('breaks for good on a length over the limit', () => {
    const decoder = new FrameDecoder(16);
    expect(decoder.push(encodeFrame(new Uint8Array(16), 16)).length).toBe(1);
    expectWireError(() => decoder.push(fromHex('00000011')), 'WIRE_TOO_LARGE');
    expectWireError(() => decoder.push(encodeFrame(new Uint8Array(1))), 'WIRE_TOO_LARGE');
    expectWireError(() => decoder.end(), 'WIRE_TOO_LARGE');
  });

  it('spots an over-limit length split across chunks', () => {
    const decoder = new FrameDecoder();
    expect(decoder.push(fromHex('FF'))).toEqual([]);
    expect(decoder.push(fromHex('FF'))).toEqual([]);
    expectWireError(() => decoder.push(fromHex('FFFF')), 'WIRE_TOO_LARGE');
  });

  it('reports a stream that ends inside a frame', () => {
    const decoder = new FrameDecoder();
    decoder.push(fromHex('00000002 01'));
    expectWireError(() => decoder.end(), 'WIRE_TRUNCATED');
    const clean = new FrameDecoder();
    clean.push(fromHex('00000000'));
    clean.end();
  });

  it('keeps empty chunks harmless', () => {
    const decoder = new FrameDecoder();
    expect(decoder.push(new Uint8Array(0))).toEqual([]);
    decoder.push(fromHex('0000'));
    expect(decoder.push(new Uint8Array(0))).toEqual([]);
    expect(decoder.push(fromHex('0001 AA')).map(toHex)).toEqual(['aa']);
    decoder.push(fromHex('00000002 AA'));
    expect(decoder.push(new Uint8Array(0))).toEqual([]);
    expect(decoder.push(fromHex('BB')).map(toHex)).toEqual(['aabb']);
  });

  it('any chunking of a sequence of frames yields the same frames', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 12 }),
        fc.array(fc.nat({ max: 600 }), { maxLength: 30 }),
        (payloads, cuts) => {
          const stream = concatBytes(payloads.map((payload) => encodeFrame(payload)));
          const decoder = new FrameDecoder();
          const out: Uint8Array[] = [];
          for (const chunk of cutAt(stream, cuts)) out.push(...decoder.push(chunk));
          decoder.end();
          expect(out.map(toHex)).toEqual(payloads.map(toHex));
        },
      ),
      propertyOptions(),
    );
  });

  it('chunks that are reused after push do not corrupt held bytes it copied out', () => {
    // A frame split across chunks is joined into a fresh buffer once complete.
    const decoder = new FrameDecoder();
    const first = fromHex('00000003 0102');
    decoder.push(first);
    const [frame] = decoder.push(fromHex('03'));
    expect(toHex(frame!)).toBe('010203');
    first.fill(0xee);
    expect(toHex(frame!)).toBe('010203');
  });

  it('random streams in random chunks give frames or a WIRE_ error', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.array(fc.nat({ max: 200 }), { maxLength: 10 }),
        fc.integer({ min: 0, max: 64 }),
        (stream, cuts, maxSize) => {
          const decoder = new FrameDecoder(maxSize);
          try {
            for (const chunk of cutAt(stream, cuts)) {
              for (const frame of decoder.push(chunk)) expect(frame.length).toBeLessThanOrEqual(maxSize);
            }
            decoder.end();
          } catch (error) {
            if (!isPilotError(error) || !error.code.startsWith('WIRE_')) throw error;
          }
        },
      ),
      propertyOptions(),
    );
  });
});

describe('framing an IPC Dial', () => {
  it('frames, splits and unframes', () => {
    const dial = { type: 'dial', address: { network: 0, node: 2 }, port: 1000 } as const;
    const framed = encodeFrame(encodeIpcMessage(dial));
    expect(toHex(encodeIpcFrame(dial))).toBe(toHex(framed));
    expect(toHex(framed)).toBe('000000090300000000000203e8');
    const decoder = new FrameDecoder(IPC_MAX_FRAME);
    const out = [...decoder.push(framed.subarray(0, 6)), ...decoder.push(framed.subarray(6))];
    expect(out.map(decodeIpcMessage)).toEqual([dial]);
  });
});
