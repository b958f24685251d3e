import { fromHex, hostileBasics, hostileVariants, propertyOptions, toHex } from '@pilot/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DataExchangeType,
  decodeFilePayload,
  decodeServiceEvent,
  decodeServiceFrame,
  EVENT_MAX_PAYLOAD,
  EVENT_MAX_TOPIC_BYTES,
  encodeFilePayload,
  encodeServiceEvent,
  encodeServiceFrame,
  FILE_NAME_MAX_BYTES,
  type FilePayload,
  fileNameProblem,
  isPilotError,
  SERVICE_MAX_PAYLOAD,
  type ServiceEvent,
  ServiceEventDecoder,
  type ServiceFrame,
  ServiceFrameDecoder,
} from '../src/index.js';
import { u32 } from './arbitraries.js';
import { concatBytes, cutAt, expectWireError, survives, withBytes } from './frame-helpers.js';
import { loadVector } from './load-vector.js';

interface ServiceFrameVectors {
  frames: { name: string; hex: string; frame: unknown }[];
  invalidFrames: { name: string; hex: string; error: string }[];
  files: { name: string; hex: string; file: unknown }[];
  invalidFiles: { name: string; hex: string; error: string }[];
}

interface ServiceEventVectors {
  events: { name: string; hex: string; event: unknown }[];
  invalid: { name: string; hex: string; error: string }[];
}

const frameVectors = loadVector<ServiceFrameVectors>('service-frames.json');
const eventVectors = loadVector<ServiceEventVectors>('service-events.json');

const serviceFrame: fc.Arbitrary<ServiceFrame> = fc.record({
  type: u32(),
  payload: fc.uint8Array({ maxLength: 64 }),
});

// Topics of 0..1024 UTF-8 bytes: short ones mostly, and some at or near the limit.
const topic: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: fc.string({ unit: 'binary', maxLength: 16 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1000, max: EVENT_MAX_TOPIC_BYTES }).map((n) => 't'.repeat(n)) },
);
const serviceEvent: fc.Arbitrary<ServiceEvent> = fc.record({
  topic,
  payload: fc.uint8Array({ maxLength: 64 }),
});

const fileName: fc.Arbitrary<string> = fc
  .string({ unit: 'binary', minLength: 1, maxLength: 40 })
  .filter((name) => fileNameProblem(name) === undefined && new TextEncoder().encode(name).length <= 255);
const filePayload: fc.Arbitrary<FilePayload> = fc.record({
  name: fileName,
  data: fc.uint8Array({ maxLength: 64 }),
});

describe('service frames: vectors', () => {
  for (const vector of frameVectors.frames) {
    it(`decodes and encodes ${vector.name}`, () => {
      const encoded = fromHex(vector.hex);
      const frame = withBytes<ServiceFrame>(vector.frame);
      expect(decodeServiceFrame(encoded)).toEqual(frame);
      expect(toHex(encodeServiceFrame(frame))).toBe(toHex(encoded));
      expect(new ServiceFrameDecoder().push(encoded)).toEqual([frame]);
    });
  }
  for (const vector of frameVectors.invalidFrames) {
    it(`refuses ${vector.name} with ${vector.error}`, () => {
      expectWireError(() => decodeServiceFrame(fromHex(vector.hex)), vector.error);
    });
  }
  for (const vector of frameVectors.files) {
    it(`decodes and encodes the file payload ${vector.name}`, () => {
      const encoded = fromHex(vector.hex);
      const file = withBytes<FilePayload>(vector.file);
      expect(decodeFilePayload(encoded)).toEqual(file);
      expect(toHex(encodeFilePayload(file))).toBe(toHex(encoded));
    });
  }
  for (const vector of frameVectors.invalidFiles) {
    it(`refuses the file payload ${vector.name} with ${vector.error}`, () => {
      expectWireError(() => decodeFilePayload(fromHex(vector.hex)), vector.error);
    });
  }
  it('decodes a FILE frame into its file', () => {
    const frame = decodeServiceFrame(
      fromHex(frameVectors.frames.find((v) => v.name.startsWith('file'))!.hex),
    );
    expect(frame.type).toBe(DataExchangeType.FILE);
    expect(decodeFilePayload(frame.payload)).toEqual({ name: 'a.txt', data: fromHex('78797A') });
  });
});

describe('service frames: limits', () => {
  it('takes a 16 MiB payload and refuses one byte more', () => {
    const payload = new Uint8Array(SERVICE_MAX_PAYLOAD);
    const encoded = encodeServiceFrame({ type: 2, payload });
    expect(decodeServiceFrame(encoded).payload.length).toBe(SERVICE_MAX_PAYLOAD);
    expectWireError(
      () => encodeServiceFrame({ type: 2, payload: new Uint8Array(SERVICE_MAX_PAYLOAD + 1) }),
      'WIRE_OUT_OF_RANGE',
    );
  });
  it('refuses a type that is not a u32', () => {
    expectWireError(() => encodeServiceFrame({ type: -1, payload: new Uint8Array(0) }), 'WIRE_OUT_OF_RANGE');
    expectWireError(
      () => encodeServiceFrame({ type: 2 ** 32, payload: new Uint8Array(0) }),
      'WIRE_OUT_OF_RANGE',
    );
  });
  it('refuses unsafe or over-long file names when encoding', () => {
    for (const name of ['', '..', 'a/b', 'a\\b', 'x..y', 'nul\0']) {
      expectWireError(() => encodeFilePayload({ name, data: new Uint8Array(0) }), 'WIRE_BAD_VALUE');
    }
    expectWireError(
      () => encodeFilePayload({ name: 'é'.repeat(128), data: new Uint8Array(0) }),
      'WIRE_OUT_OF_RANGE',
    );
    expect(encodeFilePayload({ name: 'n'.repeat(FILE_NAME_MAX_BYTES), data: new Uint8Array(0) }).length).toBe(
      257,
    );
    expectWireError(() => encodeFilePayload({ name: '\uD800', data: new Uint8Array(0) }), 'WIRE_BAD_VALUE');
  });
  it('takes a topic of 1024 bytes and refuses 1025', () => {
    const event = { topic: 't'.repeat(EVENT_MAX_TOPIC_BYTES), payload: new Uint8Array(1) };
    expect(decodeServiceEvent(encodeServiceEvent(event))).toEqual(event);
    expectWireError(
      () => encodeServiceEvent({ topic: 't'.repeat(EVENT_MAX_TOPIC_BYTES + 1), payload: new Uint8Array(0) }),
      'WIRE_OUT_OF_RANGE',
    );
    expectWireError(
      () => encodeServiceEvent({ topic: 't', payload: new Uint8Array(EVENT_MAX_PAYLOAD + 1) }),
      'WIRE_OUT_OF_RANGE',
    );
  });
});

describe('service events: vectors', () => {
  for (const vector of eventVectors.events) {
    it(`decodes and encodes ${vector.name}`, () => {
      const encoded = fromHex(vector.hex);
      const event = withBytes<ServiceEvent>(vector.event);
      expect(decodeServiceEvent(encoded)).toEqual(event);
      expect(toHex(encodeServiceEvent(event))).toBe(toHex(encoded));
      expect(new ServiceEventDecoder().push(encoded)).toEqual([event]);
    });
  }
  for (const vector of eventVectors.invalid) {
    it(`refuses ${vector.name} with ${vector.error}`, () => {
      expectWireError(() => decodeServiceEvent(fromHex(vector.hex)), vector.error);
    });
  }
});

describe('service streaming decoders', () => {
  it('any chunking of a stream of frames yields the same frames', () => {
    fc.assert(
      fc.property(
        fc.array(serviceFrame, { maxLength: 10 }),
        fc.array(fc.nat({ max: 800 }), { maxLength: 30 }),
        (frames, cuts) => {
          const decoder = new ServiceFrameDecoder();
          const out: ServiceFrame[] = [];
          for (const chunk of cutAt(concatBytes(frames.map(encodeServiceFrame)), cuts))
            out.push(...decoder.push(chunk));
          decoder.end();
          expect(out).toEqual(frames);
        },
      ),
      propertyOptions(),
    );
  });

  it('any chunking of a stream of events yields the same events', () => {
    fc.assert(
      fc.property(
        fc.array(serviceEvent, { maxLength: 8 }),
        fc.array(fc.nat({ max: 3000 }), { maxLength: 40 }),
        (events, cuts) => {
          const decoder = new ServiceEventDecoder();
          const out: ServiceEvent[] = [];
          for (const chunk of cutAt(concatBytes(events.map(encodeServiceEvent)), cuts))
            out.push(...decoder.push(chunk));
          decoder.end();
          expect(out).toEqual(events);
        },
      ),
      propertyOptions(300),
    );
  });

  it('breaks for good on an over-limit length, even one split across chunks', () => {
    const frames = new ServiceFrameDecoder();
    frames.push(fromHex('00000001 0100'));
    expectWireError(() => frames.push(fromHex('0001')), 'WIRE_TOO_LARGE');
    expectWireError(
      () => frames.push(encodeServiceFrame({ type: 1, payload: new Uint8Array(0) })),
      'WIRE_TOO_LARGE',
    );
    const events = new ServiceEventDecoder();
    events.push(fromHex('04'));
    expectWireError(() => events.push(fromHex('01')), 'WIRE_TOO_LARGE');
  });

  it('breaks on a topic that is not UTF-8, and reports a stream cut inside an event', () => {
    expectWireError(() => new ServiceEventDecoder().push(fromHex('0001 FF 00000000')), 'WIRE_BAD_VALUE');
    const events = new ServiceEventDecoder();
    events.push(fromHex('0001 2A 000000'));
    expect(events.bufferedBytes).toBe(6);
    expectWireError(() => events.end(), 'WIRE_TRUNCATED');
  });

  it('random streams in random chunks give values or a WIRE_ error', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.array(fc.nat({ max: 200 }), { maxLength: 10 }),
        (stream, cuts) => {
          for (const decoder of [new ServiceFrameDecoder(), new ServiceEventDecoder()]) {
            try {
              for (const chunk of cutAt(stream, cuts)) decoder.push(chunk);
              decoder.end();
            } catch (error) {
              if (!isPilotError(error) || !error.code.startsWith('WIRE_')) throw error;
            }
          }
        },
      ),
      propertyOptions(),
    );
  });
});

describe('service codecs: properties', () => {
  it('decode(encode(x)) equals x for frames, files and events', () => {
    fc.assert(
      fc.property(serviceFrame, filePayload, serviceEvent, (frame, file, event) => {
        expect(decodeServiceFrame(encodeServiceFrame(frame))).toEqual(frame);
        expect(decodeFilePayload(encodeFilePayload(file))).toEqual(file);
        expect(decodeServiceEvent(encodeServiceEvent(event))).toEqual(event);
      }),
      propertyOptions(),
    );
  });

  it('random bytes give a value or a WIRE_ error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (input) => {
        survives(() => decodeServiceFrame(input));
        survives(() => decodeFilePayload(input));
        survives(() => decodeServiceEvent(input));
      }),
      propertyOptions(),
    );
  });

  it('hostile inputs give a value or a WIRE_ error', () => {
    const check = (decode: (input: Uint8Array) => unknown, valid: string[]): void => {
      const inputs = [...hostileBasics()];
      for (const hex of valid) inputs.push(...hostileVariants(fromHex(hex)));
      for (const input of inputs)
        expect(
          survives(() => decode(input.bytes)),
          input.name,
        ).toBe(true);
    };
    check(
      decodeServiceFrame,
      frameVectors.frames.map((vector) => vector.hex),
    );
    check(
      decodeFilePayload,
      frameVectors.files.map((vector) => vector.hex),
    );
    check(
      decodeServiceEvent,
      eventVectors.events.map((vector) => vector.hex),
    );
  });
});
