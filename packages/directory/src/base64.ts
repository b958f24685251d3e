import { DirErrorCode, dirError } from './errors.js';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Standard base64 (what the reference uses for keys and signatures). */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/**
 * Decodes standard base64 of exactly `length` bytes. Node's decoder silently skips bad characters,
 * so the alphabet and the canonical length are checked first.
 */
export function fromBase64(text: string, length: number, what: string): Uint8Array {
  const expected = Math.ceil(length / 3) * 4;
  if (text.length !== expected || !BASE64.test(text)) {
    throw dirError(DirErrorCode.BAD_REQUEST, `invalid ${what}: expected base64 of ${length} bytes`);
  }
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== length) {
    throw dirError(DirErrorCode.BAD_REQUEST, `invalid ${what}: expected base64 of ${length} bytes`);
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
