import type { State } from './_state.js';
import { type Codec, u8, u32 } from './codec.js';
import { WireErrorCode, wireError } from './errors.js';
import { utf8Decode, utf8EncodeInto, utf8Length } from './frame-utf8.js';

// Field codecs the IPC layouts need beyond the integers of codec.ts.

/**
 * The rest of the message as UTF-8 text (names, reasons, URLs, JSON). Malformed UTF-8 is
 * WIRE_BAD_VALUE on decode; text with a lone surrogate is WIRE_BAD_VALUE on encode.
 */
export function textRest(what: string): Codec<string> {
  return {
    preencode(state, value) {
      state.end += utf8Length(value);
    },
    encode(state, value) {
      state.start += utf8EncodeInto(value, state.buffer.subarray(0, state.end), state.start, what);
    },
    decode(state) {
      const text = utf8Decode(state.buffer.subarray(state.start, state.end), what);
      state.start = state.end;
      return text;
    },
  };
}

/** A boolean as one byte, 1 or 0; any other byte is WIRE_BAD_VALUE rather than a guess. */
export function flag(what: string): Codec<boolean> {
  return {
    preencode(state) {
      state.end += 1;
    },
    encode(state, value) {
      u8.encode(state, value ? 1 : 0);
    },
    decode(state) {
      const byte = u8.decode(state);
      if (byte > 1) throw wireError(WireErrorCode.BAD_VALUE, `${what} must be 0 or 1, got ${byte}`);
      return byte === 1;
    },
  };
}

/** Signed 32-bit integer, big-endian two's complement. */
export const i32: Codec<number> = {
  preencode(state) {
    state.end += 4;
  },
  encode(state, value) {
    if ((value | 0) !== value) {
      throw wireError(WireErrorCode.OUT_OF_RANGE, `i32 must be an integer in -2^31..2^31-1, got ${value}`);
    }
    u32.encode(state, value >>> 0);
  },
  decode(state) {
    return u32.decode(state) | 0;
  },
};

/** Which pass of a codec a writer runs: sizing the message, or writing it. */
export type WritePass = 'preencode' | 'encode';

/**
 * An IPC request whose first byte picks its layout (Handshake, Network, Managed sub-commands):
 * `write` runs both passes with one switch and answers false for an action it does not know;
 * `read` gets the sub-command byte and answers undefined for one it does not know. Both unknowns
 * become WIRE_BAD_VALUE here, named after `what`.
 */
export function subCommandCodec<T extends { readonly action: string }>(
  what: string,
  write: (pass: WritePass, state: State, request: T) => boolean,
  read: (action: number, state: State) => T | undefined,
): Codec<T> {
  const unknownAction = (request: T): never => {
    throw wireError(WireErrorCode.BAD_VALUE, `unknown ${what} action ${JSON.stringify(request.action)}`);
  };
  return {
    preencode(state, request) {
      if (!write('preencode', state, request)) unknownAction(request);
    },
    encode(state, request) {
      if (!write('encode', state, request)) unknownAction(request);
    },
    decode(state) {
      const action = u8.decode(state);
      const request = read(action, state);
      if (request === undefined)
        throw wireError(
          WireErrorCode.BAD_VALUE,
          `unknown ${what} action 0x${action.toString(16).padStart(2, '0')}`,
        );
      return request;
    },
  };
}
