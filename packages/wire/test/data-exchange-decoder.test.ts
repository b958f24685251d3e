import { fromHex, propertyOptions } from '@pilot/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DataExchangeDecoder,
  type DataExchangeEvent,
  DataExchangeType,
  decodeFilePayload,
  encodeFilePayload,
  encodeServiceFrame,
  isPilotError,
  type ServiceFrame,
  ServiceFrameDecoder,
} from '../src/index.js';
import { u32 } from './arbitraries.js';
import { concatBytes, cutAt, expectWireError } from './frame-helpers.js';

/** What a receiver makes of the events: frames, and files joined back together (or their errors). */
type Outcome =
  | { readonly frame: ServiceFrame }
  | { readonly file: { readonly name: string; readonly data: Uint8Array } }
  | { readonly fileError: string };

function collect(events: readonly DataExchangeEvent[]): Outcome[] {
  const out: Outcome[] = [];
  let file: { name: string; bytes: number; parts: Uint8Array[] } | undefined;
  for (const event of events) {
    switch (event.kind) {
      case 'frame':
        out.push({ frame: { type: event.frame.type, payload: Uint8Array.from(event.frame.payload) } });
        break;
      case 'file-start':
        expect(file).toBeUndefined();
        file = { name: event.name, bytes: event.bytes, parts: [] };
        break;
      case 'file-data':
        expect(file).toBeDefined();
        file?.parts.push(Uint8Array.from(event.data));
        break;
      case 'file-end':
        if (event.error !== undefined) {
          expect(file).toBeUndefined();
          out.push({ fileError: event.error.code });
        } else {
          const data = concatBytes(file?.parts ?? []);
          expect(data.length).toBe(file?.bytes);
          out.push({ file: { name: file?.name ?? '', data } });
        }
        file = undefined;
        break;
    }
  }
  return out;
}

/** The same stream through the whole-frame decoder and decodeFilePayload: what the service did before. */
function reference(frames: readonly ServiceFrame[]): Outcome[] {
  return frames.map((frame) => {
    if (frame.type !== DataExchangeType.FILE) return { frame };
    try {
      const { name, data } = decodeFilePayload(frame.payload);
      return { file: { name, data: Uint8Array.from(data) } };
    } catch (error) {
      if (!isPilotError(error)) throw error;
      return { fileError: error.code };
    }
  });
}

const fileName = fc.oneof(
  fc.stringMatching(/^[a-z0-9._-]{1,40}$/).filter((name) => !name.includes('..')),
  fc.constant('x'.repeat(255)),
);
// FILE frames with valid payloads, broken payloads (short, bad names, over-long name lengths),
// and other frame types, TEXT among them.
const frame: fc.Arbitrary<ServiceFrame> = fc.oneof(
  fc
    .record({ name: fileName, data: fc.uint8Array({ maxLength: 600 }) })
    .map((file) => ({ type: DataExchangeType.FILE, payload: encodeFilePayload(file) })),
  fc.record({ type: fc.constant(DataExchangeType.FILE), payload: fc.uint8Array({ maxLength: 300 }) }),
  fc.record({
    type: fc.constantFrom(DataExchangeType.TEXT, DataExchangeType.BINARY, DataExchangeType.JSON),
    payload: fc.uint8Array({ maxLength: 64 }),
  }),
  fc.record({ type: u32(), payload: fc.uint8Array({ maxLength: 64 }) }),
);

describe('DataExchangeDecoder', () => {
  it('any chunking gives what whole frames and decodeFilePayload give', () => {
    fc.assert(
      fc.property(
        fc.array(frame, { maxLength: 8 }),
        fc.array(fc.nat({ max: 3000 }), { maxLength: 40 }),
        (frames, cuts) => {
          const decoder = new DataExchangeDecoder();
          const events: DataExchangeEvent[] = [];
          for (const chunk of cutAt(concatBytes(frames.map(encodeServiceFrame)), cuts))
            events.push(...decoder.push(chunk));
          decoder.end();
          expect(decoder.bufferedBytes).toBe(0);
          expect(collect(events)).toEqual(reference(frames));
        },
      ),
      propertyOptions(300),
    );
  });

  it('hands FILE data out as it arrives: nothing of it is held', () => {
    const data = new Uint8Array(100_000).fill(7);
    const stream = encodeServiceFrame({
      type: DataExchangeType.FILE,
      payload: encodeFilePayload({ name: 'big.bin', data }),
    });
    const decoder = new DataExchangeDecoder();
    const first = decoder.push(stream.subarray(0, 50_000));
    expect(first[0]).toEqual({ kind: 'file-start', name: 'big.bin', bytes: 100_000 });
    expect(first.slice(1).reduce((sum, e) => sum + (e.kind === 'file-data' ? e.data.length : 0), 0)).toBe(
      50_000 - 8 - 2 - 7,
    );
    expect(decoder.bufferedBytes).toBe(0);
    expect(decoder.push(stream.subarray(50_000)).at(-1)).toEqual({ kind: 'file-end' });
  });

  it('breaks for good on an over-limit length, like ServiceFrameDecoder', () => {
    const decoder = new DataExchangeDecoder();
    decoder.push(fromHex('00000004 0100'));
    expectWireError(() => decoder.push(fromHex('0001')), 'WIRE_TOO_LARGE');
    expectWireError(() => decoder.push(new Uint8Array(1)), 'WIRE_TOO_LARGE');
    expectWireError(() => new ServiceFrameDecoder().push(fromHex('00000004 01000001')), 'WIRE_TOO_LARGE');
  });

  it('reports a stream cut inside a frame', () => {
    const decoder = new DataExchangeDecoder();
    decoder.push(fromHex('00000004 00000010 0001'));
    expectWireError(() => decoder.end(), 'WIRE_TRUNCATED');
  });

  it('random streams in random chunks give events or a WIRE_ error', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 400 }),
        fc.array(fc.nat({ max: 400 }), { maxLength: 10 }),
        (stream, cuts) => {
          const decoder = new DataExchangeDecoder();
          try {
            for (const chunk of cutAt(stream, cuts)) decoder.push(chunk);
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
