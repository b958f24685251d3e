import { DirErrorCode, dirError } from '../errors.js';

/**
 * A reply as one `[u32 BE length][UTF-8 JSON]` frame, in one allocation: the hot path of every
 * request (the generic encoder of @pilot/wire encodes to a separate array and then copies it).
 * JSON.stringify escapes lone surrogates, so the text always encodes to valid UTF-8.
 */
export function encodeReplyFrame(reply: Readonly<Record<string, unknown>>, maxSize: number): Buffer {
  const text = JSON.stringify(reply);
  const length = Buffer.byteLength(text);
  if (length > maxSize) {
    throw dirError(
      DirErrorCode.TOO_LARGE,
      `reply of ${length} bytes exceeds the ${maxSize}-byte frame limit`,
    );
  }
  const frame = Buffer.allocUnsafe(4 + length);
  frame.writeUInt32BE(length, 0);
  frame.write(text, 4, 'utf8');
  return frame;
}
