import { WireErrorCode, wireError } from './errors.js';
import { readU16, readU32, writeU16, writeU32 } from './frame-bytes.js';
import { StreamDecoder } from './frame-stream.js';
import { utf8Decode, utf8Encode } from './frame-utf8.js';

/** Longest event-stream topic, in UTF-8 bytes. */
export const EVENT_MAX_TOPIC_BYTES = 1024;

/** Largest event-stream payload: 16 MiB. */
export const EVENT_MAX_PAYLOAD: number = 16_777_216;

/**
 * One event of the event-stream service (port 1002): `[u16 topicLength][topic][u32 length][payload]`.
 * The first event a subscriber sends names the topic it subscribes to (`*` for all); its payload is
 * ignored by the reference.
 */
export interface ServiceEvent {
  readonly topic: string;
  readonly payload: Uint8Array;
}

/** Encodes an event; a topic over 1024 bytes or a payload over 16 MiB is WIRE_OUT_OF_RANGE. */
export function encodeServiceEvent(event: ServiceEvent): Uint8Array {
  const topic = utf8Encode(event.topic, 'event topic');
  if (topic.length > EVENT_MAX_TOPIC_BYTES) {
    throw wireError(
      WireErrorCode.OUT_OF_RANGE,
      `event topic of ${topic.length} bytes is over ${EVENT_MAX_TOPIC_BYTES}`,
    );
  }
  const { payload } = event;
  if (payload.length > EVENT_MAX_PAYLOAD) {
    throw wireError(WireErrorCode.OUT_OF_RANGE, `event payload of ${payload.length} bytes is over 16 MiB`);
  }
  const out = new Uint8Array(2 + topic.length + 4 + payload.length);
  writeU16(out, 0, topic.length);
  out.set(topic, 2);
  writeU32(out, 2 + topic.length, payload.length);
  out.set(payload, 6 + topic.length);
  return out;
}

function measureEvent(head: Uint8Array): number {
  if (head.length < 2) return -1;
  const topicLength = readU16(head, 0);
  if (topicLength > EVENT_MAX_TOPIC_BYTES) {
    throw wireError(
      WireErrorCode.TOO_LARGE,
      `event topic announces ${topicLength} bytes, over ${EVENT_MAX_TOPIC_BYTES}`,
    );
  }
  if (head.length < 6 + topicLength) return -1;
  const payloadLength = readU32(head, 2 + topicLength);
  if (payloadLength > EVENT_MAX_PAYLOAD) {
    throw wireError(WireErrorCode.TOO_LARGE, `event payload announces ${payloadLength} bytes, over 16 MiB`);
  }
  return 6 + topicLength + payloadLength;
}

function eventOf(message: Uint8Array): ServiceEvent {
  const topicLength = readU16(message, 0);
  return {
    topic: utf8Decode(message.subarray(2, 2 + topicLength), 'event topic'),
    payload: message.subarray(6 + topicLength),
  };
}

/** One whole event held in `bytes`, which it must fill exactly; the payload is a view. */
export function decodeServiceEvent(bytes: Uint8Array): ServiceEvent {
  const total = measureEvent(bytes);
  if (total < 0 || total > bytes.length) {
    throw wireError(WireErrorCode.TRUNCATED, `event is cut short at ${bytes.length} bytes`);
  }
  if (total < bytes.length) {
    throw wireError(WireErrorCode.LENGTH_MISMATCH, `event is ${total} bytes, ${bytes.length} given`);
  }
  return eventOf(bytes);
}

/**
 * Splits an event stream into events, whatever the chunking. An over-limit length, or a topic that
 * is not UTF-8, breaks the decoder for good (the stream must be closed).
 */
export class ServiceEventDecoder {
  readonly #stream: StreamDecoder<ServiceEvent> = new StreamDecoder(measureEvent, eventOf);

  /** Bytes held that belong to an event not yet complete. */
  get bufferedBytes(): number {
    return this.#stream.bufferedBytes;
  }

  /** Feeds the next chunk and returns the events it completes, in order. */
  push(chunk: Uint8Array): ServiceEvent[] {
    return this.#stream.push(chunk);
  }

  /** Declares the end of the stream: WIRE_TRUNCATED when it stopped inside an event. */
  end(): void {
    this.#stream.end();
  }
}
