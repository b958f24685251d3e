import { WireErrorCode, wireError } from './errors.js';
import { readU32, writeU32 } from './frame-bytes.js';
import { StreamDecoder } from './frame-stream.js';

/** Largest IPC message (command byte + payload) between daemon and driver: 1 MiB. */
export const IPC_MAX_FRAME: number = 1_048_576;

/**
 * Largest registry JSON message we send and, by default, accept: 1 MiB, as the published spec says.
 * The reference registry of April accepts up to 4 MiB (REFERENCE_REGISTRY_MAX_FRAME); a server that
 * must take every request such a client could send raises its decoder's limit to that.
 */
export const REGISTRY_MAX_FRAME: number = 1_048_576;

/** The frame limit of the April reference registry (it was 1 MiB in February). */
export const REFERENCE_REGISTRY_MAX_FRAME: number = 4_194_304;

/** Size of the big-endian u32 length that precedes every frame. */
export const FRAME_HEADER_SIZE = 4;

const U32_MAX = 0xffff_ffff;

function checkMaxSize(maxSize: number): void {
  if (!Number.isInteger(maxSize) || maxSize < 0 || maxSize > U32_MAX) {
    throw wireError(
      WireErrorCode.OUT_OF_RANGE,
      `maxSize must be an integer in 0..${U32_MAX}, got ${maxSize}`,
    );
  }
}

function checkLength(length: number, maxSize: number, code: WireErrorCode): void {
  if (length > maxSize) throw wireError(code, `frame of ${length} bytes exceeds the limit of ${maxSize}`);
}

/**
 * The 4-byte length prefix alone, for callers that write header and payload separately (writev)
 * instead of copying the payload into one buffer.
 */
export function encodeFrameHeader(length: number, maxSize: number = IPC_MAX_FRAME): Uint8Array {
  checkMaxSize(maxSize);
  if (!Number.isInteger(length) || length < 0) {
    throw wireError(WireErrorCode.OUT_OF_RANGE, `frame length must be a non-negative integer, got ${length}`);
  }
  checkLength(length, maxSize, WireErrorCode.OUT_OF_RANGE);
  const out = new Uint8Array(FRAME_HEADER_SIZE);
  writeU32(out, 0, length);
  return out;
}

/** `[u32 BE length][payload]`; a payload over `maxSize` bytes is refused with WIRE_OUT_OF_RANGE. */
export function encodeFrame(payload: Uint8Array, maxSize: number = IPC_MAX_FRAME): Uint8Array {
  checkMaxSize(maxSize);
  checkLength(payload.length, maxSize, WireErrorCode.OUT_OF_RANGE);
  const out = new Uint8Array(FRAME_HEADER_SIZE + payload.length);
  writeU32(out, 0, payload.length);
  out.set(payload, FRAME_HEADER_SIZE);
  return out;
}

/**
 * Splits a byte stream (a Unix or TCP socket) into the payloads of its `[u32 length][payload]`
 * frames. Chunks may cut frames anywhere and carry many frames each. A length over the limit is
 * WIRE_TOO_LARGE and leaves the decoder unusable: the stream has lost its framing and must be
 * closed. Payloads are views of the pushed chunks whenever a frame arrives in one piece.
 */
export class FrameDecoder {
  readonly #stream: StreamDecoder<Uint8Array>;

  constructor(maxSize: number = IPC_MAX_FRAME) {
    checkMaxSize(maxSize);
    this.#stream = new StreamDecoder(
      (head) => {
        if (head.length < FRAME_HEADER_SIZE) return -1;
        const length = readU32(head, 0);
        checkLength(length, maxSize, WireErrorCode.TOO_LARGE);
        return FRAME_HEADER_SIZE + length;
      },
      (frame) => frame.subarray(FRAME_HEADER_SIZE),
    );
  }

  /** Bytes held that belong to a frame not yet complete. */
  get bufferedBytes(): number {
    return this.#stream.bufferedBytes;
  }

  /** Feeds the next chunk and returns the payloads of the frames it completes, in order. */
  push(chunk: Uint8Array): Uint8Array[] {
    return this.#stream.push(chunk);
  }

  /** Declares the end of the stream: WIRE_TRUNCATED when it stopped inside a frame. */
  end(): void {
    this.#stream.end();
  }
}

/**
 * The payload of one whole frame held in `bytes` (a datagram, a file): the length must match the
 * bytes present exactly. The payload is a view of `bytes`.
 */
export function decodeFrame(bytes: Uint8Array, maxSize: number = IPC_MAX_FRAME): Uint8Array {
  checkMaxSize(maxSize);
  if (bytes.length < FRAME_HEADER_SIZE) {
    throw wireError(
      WireErrorCode.TRUNCATED,
      `frame needs ${FRAME_HEADER_SIZE} header bytes, got ${bytes.length}`,
    );
  }
  const length = readU32(bytes, 0);
  checkLength(length, maxSize, WireErrorCode.TOO_LARGE);
  if (FRAME_HEADER_SIZE + length > bytes.length) {
    throw wireError(WireErrorCode.TRUNCATED, `frame announces ${length} bytes, ${bytes.length - 4} present`);
  }
  if (FRAME_HEADER_SIZE + length < bytes.length) {
    throw wireError(
      WireErrorCode.LENGTH_MISMATCH,
      `frame announces ${length} bytes, ${bytes.length - FRAME_HEADER_SIZE} present`,
    );
  }
  return bytes.subarray(FRAME_HEADER_SIZE);
}
