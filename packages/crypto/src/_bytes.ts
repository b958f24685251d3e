import { CryptoErrorCode, cryptoError } from './errors.js';

/** Throws CRYPTO_BAD_KEY (or `code`) unless `value` is a Uint8Array of exactly `size` bytes. */
export function checkBytes(
  value: unknown,
  size: number,
  name: string,
  code: CryptoErrorCode = CryptoErrorCode.BAD_KEY,
): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw cryptoError(code, `${name} must be a Uint8Array of ${size} bytes, got ${describe(value)}`);
  }
  if (value.length !== size) {
    throw cryptoError(code, `${name} must be ${size} bytes, got ${value.length}`);
  }
}

/** Throws CRYPTO_BAD_INPUT unless `value` is a Uint8Array (of any length). */
export function checkUint8Array(value: unknown, name: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw cryptoError(CryptoErrorCode.BAD_INPUT, `${name} must be a Uint8Array, got ${describe(value)}`);
  }
}

/** Throws CRYPTO_OUT_OF_RANGE unless `value` is an integer in 0..2^32-1. */
export function checkU32(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw cryptoError(
      CryptoErrorCode.OUT_OF_RANGE,
      `${name} must be an integer in 0..4294967295, got ${String(value)}`,
    );
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  return typeof value;
}

/** Equality whose running time depends only on the lengths, not on where the bytes differ. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

export function isAllZero(bytes: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < bytes.length; i++) acc |= bytes[i]!;
  return acc === 0;
}

export function readU32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

export function writeU32(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 24;
  out[at + 1] = (value >>> 16) & 0xff;
  out[at + 2] = (value >>> 8) & 0xff;
  out[at + 3] = value & 0xff;
}

/** A plain Uint8Array holding a copy of `bytes` (never a Buffer, never a view of a shared pool). */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  out.set(bytes);
  return out;
}
