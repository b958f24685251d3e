import { randomBytes } from '@noble/hashes/utils.js';
import { checkBytes, readU32, writeU32 } from './_bytes.js';
import { joinCounter, splitCounterOrThrow } from './_counter.js';
import { CryptoErrorCode, cryptoError } from './errors.js';

export const NONCE_PREFIX_SIZE = 4;
export const NONCE_BYTES = 12;

/** Options of a NonceSequence. */
export interface NonceSequenceOptions {
  /** The 4-byte prefix; random (CSPRNG) when omitted, which is what a sender should do. */
  readonly prefix?: Uint8Array;
  /**
   * The counter of the first nonce, 1 by default as in the reference (0 is never sent: the
   * receiver's replay window reads max = 0 as "nothing received"). For tests and for resuming.
   */
  readonly firstCounter?: number | bigint;
}

/**
 * The nonces a sender uses under one tunnel key: `prefix (4) ‖ u64 counter (big-endian)`, the
 * counter starting at 1 and increasing by one per frame. It never wraps: once counter 2^64 - 1 has
 * been handed out, every further request is CRYPTO_NONCE_EXHAUSTED, and the tunnel must be rekeyed.
 * (At a million frames a second that is 580,000 years away; the check costs nothing.)
 */
export class NonceSequence {
  /** The prefix as a u32: a daemon holds a sequence per peer, and a 4-byte array costs ~200 bytes. */
  readonly #prefix: number;
  #hi: number;
  #lo: number;
  #exhausted = false;

  constructor(options: NonceSequenceOptions = {}) {
    if (options.prefix === undefined) {
      this.#prefix = readU32(randomBytes(NONCE_PREFIX_SIZE), 0);
    } else {
      checkBytes(options.prefix, NONCE_PREFIX_SIZE, 'prefix');
      this.#prefix = readU32(options.prefix, 0);
    }
    const [hi, lo] = splitCounterOrThrow(options.firstCounter ?? 1, 'firstCounter');
    if (hi === 0 && lo === 0) throw cryptoError(CryptoErrorCode.OUT_OF_RANGE, 'firstCounter must not be 0');
    this.#hi = hi;
    this.#lo = lo;
  }

  /** A copy of the 4-byte prefix. */
  get prefix(): Uint8Array {
    const out = new Uint8Array(NONCE_PREFIX_SIZE);
    writeU32(out, 0, this.#prefix);
    return out;
  }

  /** The counter the next nonce will carry; undefined once exhausted. */
  get nextCounter(): bigint | undefined {
    return this.#exhausted ? undefined : joinCounter(this.#hi, this.#lo);
  }

  /** True when every counter has been used. */
  get exhausted(): boolean {
    return this.#exhausted;
  }

  /** Writes the next 12-byte nonce into `target` at `offset`. */
  nextInto(target: Uint8Array, offset: number): void {
    if (this.#exhausted) {
      throw cryptoError(
        CryptoErrorCode.NONCE_EXHAUSTED,
        'nonce counter exhausted (2^64 - 1 used): rekey the tunnel',
      );
    }
    if (
      !(target instanceof Uint8Array) ||
      !Number.isInteger(offset) ||
      offset < 0 ||
      offset + NONCE_BYTES > target.length
    ) {
      throw cryptoError(CryptoErrorCode.OUT_OF_RANGE, `a 12-byte nonce does not fit at offset ${offset}`);
    }
    writeU32(target, offset, this.#prefix);
    writeU32(target, offset + 4, this.#hi);
    writeU32(target, offset + 8, this.#lo);
    if (this.#lo === 0xffff_ffff) {
      if (this.#hi === 0xffff_ffff) this.#exhausted = true;
      else {
        this.#hi += 1;
        this.#lo = 0;
      }
    } else {
      this.#lo += 1;
    }
  }

  /** The next 12-byte nonce. */
  next(): Uint8Array {
    const out = new Uint8Array(NONCE_BYTES);
    this.nextInto(out, 0);
    return out;
  }
}
