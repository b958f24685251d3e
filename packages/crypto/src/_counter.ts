// 64-bit counters as two u32 halves, so that the per-packet path never allocates a BigInt.
import { CryptoErrorCode, cryptoError } from './errors.js';

export const TWO_32 = 0x1_0000_0000;
const U64_MAX = 0xffff_ffff_ffff_ffffn;

/** A counter given as a number (a safe integer) or a bigint, split into halves; undefined if outside u64. */
export function splitCounter(counter: number | bigint): [hi: number, lo: number] | undefined {
  if (typeof counter === 'number') {
    if (!Number.isSafeInteger(counter) || counter < 0) return undefined;
    return [Math.floor(counter / TWO_32), counter >>> 0];
  }
  if (typeof counter === 'bigint') {
    if (counter < 0n || counter > U64_MAX) return undefined;
    return [Number(counter >> 32n), Number(counter & 0xffff_ffffn)];
  }
  return undefined;
}

/** The same split, throwing CRYPTO_OUT_OF_RANGE for anything that is not a u64. */
export function splitCounterOrThrow(counter: number | bigint, name: string): [hi: number, lo: number] {
  const parts = splitCounter(counter);
  if (parts === undefined) {
    throw cryptoError(
      CryptoErrorCode.OUT_OF_RANGE,
      `${name} must be an integer in 0..2^64-1, got ${String(counter)}`,
    );
  }
  return parts;
}

export function joinCounter(hi: number, lo: number): bigint {
  return (BigInt(hi) << 32n) | BigInt(lo);
}
