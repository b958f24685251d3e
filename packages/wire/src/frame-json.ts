import { WireErrorCode, wireError } from './errors.js';
import { encodeFrame, REGISTRY_MAX_FRAME } from './frame.js';
import { utf8Decode, utf8Encode } from './frame-utf8.js';

/**
 * A JSON object as one frame, `[u32 length][UTF-8 JSON]`: the registry protocol's unit. Values that
 * JSON cannot express (cycles, BigInt) and objects whose `toJSON` yields a non-object are refused
 * with WIRE_BAD_VALUE; a text over `maxSize` bytes with WIRE_OUT_OF_RANGE.
 */
export function encodeJsonFrame(
  value: Readonly<Record<string, unknown>>,
  maxSize: number = REGISTRY_MAX_FRAME,
): Uint8Array {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw wireError(WireErrorCode.BAD_VALUE, `value cannot be written as JSON: ${String(error)}`);
  }
  if (text === undefined || !text.startsWith('{')) {
    throw wireError(WireErrorCode.BAD_VALUE, 'value must serialise to a JSON object');
  }
  // JSON.stringify escapes lone surrogates (ES2019), so the text is always valid UTF-8.
  return encodeFrame(utf8Encode(text, 'JSON text'), maxSize);
}

/**
 * Parses one frame's payload (without its length) as a JSON object. Malformed UTF-8, malformed
 * JSON and JSON that is not an object (an array, a string, null) are all WIRE_BAD_VALUE.
 */
export function decodeJsonMessage(bytes: Uint8Array): Record<string, unknown> {
  const text = utf8Decode(bytes, 'JSON message');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw wireError(WireErrorCode.BAD_VALUE, `message is not valid JSON: ${String(error)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw wireError(WireErrorCode.BAD_VALUE, 'message must be a JSON object');
  }
  return value as Record<string, unknown>;
}
