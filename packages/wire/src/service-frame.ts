import { WireErrorCode, wireError } from './errors.js';
import { readU32, writeU32 } from './frame-bytes.js';
import { StreamDecoder } from './frame-stream.js';

/** Largest payload of one data-exchange or task-submit frame: 16 MiB. */
export const SERVICE_MAX_PAYLOAD: number = 16_777_216;

/** `[u32 type][u32 length]` before every service frame's payload. */
export const SERVICE_FRAME_HEADER_SIZE = 8;

/** Frame types of the data-exchange service (port 1001). */
export const DataExchangeType = {
  TEXT: 1,
  BINARY: 2,
  JSON: 3,
  /** The payload is a file: see encodeFilePayload. */
  FILE: 4,
} as const;

export type DataExchangeType = (typeof DataExchangeType)[keyof typeof DataExchangeType];

/** Frame types of the task-submit service (port 1003); every payload is JSON. */
export const TaskFrameType = {
  SUBMIT: 1,
  RESULT: 2,
  STATUS_UPDATE: 3,
  SEND_RESULTS: 4,
} as const;

export type TaskFrameType = (typeof TaskFrameType)[keyof typeof TaskFrameType];

/**
 * One `[u32 type][u32 length][payload]` frame of the data-exchange or task-submit service. The type
 * is kept as a number: both services share the layout and give the numbers their own meanings, and
 * a type we do not know is for the service, not the codec, to answer (the reference replies `ERR`).
 */
export interface ServiceFrame {
  readonly type: number;
  readonly payload: Uint8Array;
}

/** `[u32 type][u32 length][payload]`; a payload over 16 MiB is WIRE_OUT_OF_RANGE. */
export function encodeServiceFrame(frame: ServiceFrame): Uint8Array {
  const { type, payload } = frame;
  if (!Number.isInteger(type) || type < 0 || type > 0xffff_ffff) {
    throw wireError(WireErrorCode.OUT_OF_RANGE, `service frame type must be a u32, got ${type}`);
  }
  if (payload.length > SERVICE_MAX_PAYLOAD) {
    throw wireError(
      WireErrorCode.OUT_OF_RANGE,
      `service frame payload of ${payload.length} bytes is over 16 MiB`,
    );
  }
  const out = new Uint8Array(SERVICE_FRAME_HEADER_SIZE + payload.length);
  writeU32(out, 0, type);
  writeU32(out, 4, payload.length);
  out.set(payload, SERVICE_FRAME_HEADER_SIZE);
  return out;
}

function measureServiceFrame(head: Uint8Array): number {
  if (head.length < SERVICE_FRAME_HEADER_SIZE) return -1;
  const length = readU32(head, 4);
  if (length > SERVICE_MAX_PAYLOAD) {
    throw wireError(WireErrorCode.TOO_LARGE, `service frame announces ${length} bytes, over 16 MiB`);
  }
  return SERVICE_FRAME_HEADER_SIZE + length;
}

function frameOf(message: Uint8Array): ServiceFrame {
  return { type: readU32(message, 0), payload: message.subarray(SERVICE_FRAME_HEADER_SIZE) };
}

/** One whole service frame held in `bytes`, which it must fill exactly; the payload is a view. */
export function decodeServiceFrame(bytes: Uint8Array): ServiceFrame {
  if (bytes.length < SERVICE_FRAME_HEADER_SIZE) {
    throw wireError(WireErrorCode.TRUNCATED, `service frame needs 8 header bytes, got ${bytes.length}`);
  }
  const total = measureServiceFrame(bytes);
  if (total > bytes.length) {
    throw wireError(WireErrorCode.TRUNCATED, `service frame needs ${total} bytes, got ${bytes.length}`);
  }
  if (total < bytes.length) {
    throw wireError(WireErrorCode.LENGTH_MISMATCH, `service frame is ${total} bytes, ${bytes.length} given`);
  }
  return frameOf(bytes);
}

/**
 * Splits a data-exchange or task-submit stream into frames, whatever the chunking. A length over
 * 16 MiB is WIRE_TOO_LARGE and breaks the decoder for good (the stream must be closed).
 */
export class ServiceFrameDecoder {
  readonly #stream: StreamDecoder<ServiceFrame> = new StreamDecoder(measureServiceFrame, frameOf);

  /** Bytes held that belong to a frame not yet complete. */
  get bufferedBytes(): number {
    return this.#stream.bufferedBytes;
  }

  /** Feeds the next chunk and returns the frames it completes, in order. */
  push(chunk: Uint8Array): ServiceFrame[] {
    return this.#stream.push(chunk);
  }

  /** Declares the end of the stream: WIRE_TRUNCATED when it stopped inside a frame. */
  end(): void {
    this.#stream.end();
  }
}
