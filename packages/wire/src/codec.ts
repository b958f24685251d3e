import { createState, need, resetBuffer, type State } from './_state.js';
import { WireErrorCode, wireError } from './errors.js';

export { createState, need, remaining, resetBuffer, type State } from './_state.js';

/**
 * A codec in the Holepunch compact-encoding style: three small functions over a shared cursor.
 * `preencode` only adds to `state.end` the bytes `value` will take; `encode` writes them at
 * `state.start` and advances it; `decode` reads at `state.start`, advances it and returns the value.
 *
 * Rules every codec of the package keeps:
 * - `encode` validates what it is given (WIRE_OUT_OF_RANGE, WIRE_LENGTH_MISMATCH…) before or while
 *   writing; `preencode` may assume `encode` will do so.
 * - `decode` throws nothing but PilotError with a WIRE_ code, whatever the bytes.
 * - Decoded byte fields are views (`subarray`) of the input, never copies: a caller that keeps them
 *   after reusing the input buffer copies them itself.
 */
export interface Codec<T> {
  preencode(state: State, value: T): void;
  encode(state: State, value: T): void;
  decode(state: State): T;
}

/** `value` encoded by `codec` into a fresh buffer of exactly the right size. */
export function encode<T>(codec: Codec<T>, value: T): Uint8Array {
  const state = createState();
  codec.preencode(state, value);
  const out = new Uint8Array(state.end);
  resetBuffer(state, out);
  codec.encode(state, value);
  return out;
}

/**
 * Encodes `value` into `target` at `offset` and returns the bytes written. A target too small is
 * WIRE_OUT_OF_RANGE, checked before anything is written (a value the codec refuses may still leave
 * a partial write behind).
 */
export function encodeInto<T>(codec: Codec<T>, value: T, target: Uint8Array, offset = 0): number {
  const state = createState();
  codec.preencode(state, value);
  const size = state.end;
  if (!Number.isInteger(offset) || offset < 0 || offset + size > target.length) {
    throw wireError(
      WireErrorCode.OUT_OF_RANGE,
      `${size} bytes do not fit at offset ${offset} of a ${target.length}-byte target`,
    );
  }
  const out = createState(target, offset, offset + size);
  codec.encode(out, value);
  return size;
}

/**
 * Decodes one whole value from `bytes`. Bytes left over are WIRE_LENGTH_MISMATCH: use `createState`
 * and `codec.decode` directly to read a value from the head of a longer buffer.
 */
export function decode<T>(codec: Codec<T>, bytes: Uint8Array): T {
  const state = createState(bytes);
  const value = codec.decode(state);
  if (state.start !== state.end) {
    throw wireError(
      WireErrorCode.LENGTH_MISMATCH,
      `${state.end - state.start} unexpected bytes after a ${state.start}-byte value`,
    );
  }
  return value;
}

function rangeError(what: string, value: unknown, max: number | bigint): never {
  throw wireError(
    WireErrorCode.OUT_OF_RANGE,
    `${what} must be an integer in 0..${max}, got ${String(value)}`,
  );
}

/** Throws WIRE_OUT_OF_RANGE unless `value` is an integer in 0..0xff. */
export function checkU8(value: number, what: string): void {
  if ((value & 0xff) !== value) rangeError(what, value, 0xff);
}

/** Throws WIRE_OUT_OF_RANGE unless `value` is an integer in 0..0xffff. */
export function checkU16(value: number, what: string): void {
  if ((value & 0xffff) !== value) rangeError(what, value, 0xffff);
}

/** Throws WIRE_OUT_OF_RANGE unless `value` is an integer in 0..0xffffffff. */
export function checkU32(value: number, what: string): void {
  // `>>> 0` maps every non-integer, negative or too large number to something else.
  if (value >>> 0 !== value) rangeError(what, value, 0xffff_ffff);
}

/** Unsigned 8-bit integer. */
export const u8: Codec<number> = {
  preencode(state) {
    state.end += 1;
  },
  encode(state, value) {
    checkU8(value, 'u8');
    state.buffer[state.start++] = value;
  },
  decode(state) {
    need(state, 1, 'u8');
    return state.buffer[state.start++]!;
  },
};

// Uint8Array stores keep the low 8 bits of a number, so `b[i] = value >>> 8` needs no mask.

/** Unsigned 16-bit integer, big-endian. */
export const u16: Codec<number> = {
  preencode(state) {
    state.end += 2;
  },
  encode(state, value) {
    checkU16(value, 'u16');
    const b = state.buffer;
    const at = state.start;
    b[at] = value >>> 8;
    b[at + 1] = value;
    state.start = at + 2;
  },
  decode(state) {
    need(state, 2, 'u16');
    const b = state.buffer;
    const at = state.start;
    state.start = at + 2;
    return (b[at]! << 8) | b[at + 1]!;
  },
};

/** Unsigned 32-bit integer, big-endian. */
export const u32: Codec<number> = {
  preencode(state) {
    state.end += 4;
  },
  encode(state, value) {
    checkU32(value, 'u32');
    const b = state.buffer;
    const at = state.start;
    b[at] = value >>> 24;
    b[at + 1] = value >>> 16;
    b[at + 2] = value >>> 8;
    b[at + 3] = value;
    state.start = at + 4;
  },
  decode(state) {
    need(state, 4, 'u32');
    const b = state.buffer;
    const at = state.start;
    state.start = at + 4;
    return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
  },
};

const U64_MAX = 0xffff_ffff_ffff_ffffn;

/** Unsigned 64-bit integer, big-endian, as a bigint (exact over the whole range). */
export const u64: Codec<bigint> = {
  preencode(state) {
    state.end += 8;
  },
  encode(state, value) {
    if (typeof value !== 'bigint' || value < 0n || value > U64_MAX) rangeError('u64', value, U64_MAX);
    state.view.setBigUint64(state.start, value);
    state.start += 8;
  },
  decode(state) {
    need(state, 8, 'u64');
    const value = state.view.getBigUint64(state.start);
    state.start += 8;
    return value;
  },
};

/**
 * Exactly `n` bytes (a key, a nonce, a signature). Encoding a value of another length is
 * WIRE_LENGTH_MISMATCH; decoding returns a view of the input.
 */
export function fixed(n: number, what = `${n}-byte field`): Codec<Uint8Array> {
  if (!Number.isInteger(n) || n < 0)
    throw wireError(WireErrorCode.OUT_OF_RANGE, `fixed size ${n} is invalid`);
  return {
    preencode(state) {
      state.end += n;
    },
    encode(state, value) {
      if (value.length !== n) {
        throw wireError(WireErrorCode.LENGTH_MISMATCH, `${what} must be ${n} bytes, got ${value.length}`);
      }
      state.buffer.set(value, state.start);
      state.start += n;
    },
    decode(state) {
      need(state, n, what);
      const value = state.buffer.subarray(state.start, state.start + n);
      state.start += n;
      return value;
    },
  };
}

/**
 * The rest of the input, with no length of its own: it must be the last field of a structure.
 * Decoding returns a view of everything from the cursor to `end`.
 */
export const raw: Codec<Uint8Array> = {
  preencode(state, value) {
    state.end += value.length;
  },
  encode(state, value) {
    state.buffer.set(value, state.start);
    state.start += value.length;
  },
  decode(state) {
    const value = state.buffer.subarray(state.start, state.end);
    state.start = state.end;
    return value;
  },
};

/**
 * Bytes preceded by their length, written with `length` (u8, u16 or u32). A length over `max`
 * (default: the largest the length codec can carry) is WIRE_OUT_OF_RANGE on encode and
 * WIRE_TOO_LARGE on decode; a length beyond the input is WIRE_TRUNCATED. Decoding returns a view.
 */
export function lengthPrefixed(
  length: Codec<number>,
  max: number = length === u8 ? 0xff : length === u16 ? 0xffff : 0xffff_ffff,
  what = 'length-prefixed bytes',
): Codec<Uint8Array> {
  return {
    preencode(state, value) {
      length.preencode(state, value.length);
      state.end += value.length;
    },
    encode(state, value) {
      if (value.length > max) {
        throw wireError(
          WireErrorCode.OUT_OF_RANGE,
          `${what}: ${value.length} bytes exceed the limit of ${max}`,
        );
      }
      length.encode(state, value.length);
      state.buffer.set(value, state.start);
      state.start += value.length;
    },
    decode(state) {
      const n = length.decode(state);
      if (n > max) throw wireError(WireErrorCode.TOO_LARGE, `${what}: ${n} bytes exceed the limit of ${max}`);
      need(state, n, what);
      const value = state.buffer.subarray(state.start, state.start + n);
      state.start += n;
      return value;
    },
  };
}
