import { WireErrorCode, wireError } from './errors.js';

// The wire package compiles with `"types": []` and `lib: ES2022`, which declare neither TextEncoder
// nor TextDecoder although every runtime we target (Node 20+, browsers, Deno, Bun) has both.
// Declaring the few members we use, module-locally, keeps the global scope of callers untouched.
declare const TextEncoder: new () => {
  encode(input: string): Uint8Array;
  encodeInto(input: string, destination: Uint8Array): { read: number; written: number };
};
declare const TextDecoder: new (
  label: string,
  options: { fatal: boolean; ignoreBOM: boolean },
) => { decode(input: Uint8Array): string };

const encoder = new TextEncoder();
// `ignoreBOM: true` keeps a leading U+FEFF in the text, so decode(encode(s)) === s for every s.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

// With the `u` flag a surrogate pair is one code point, so this only matches lone surrogates:
// exactly the strings that UTF-8 cannot carry (TextEncoder would silently turn them into U+FFFD).
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

function checkWellFormed(text: string, what: string): void {
  if (LONE_SURROGATE.test(text)) {
    throw wireError(
      WireErrorCode.BAD_VALUE,
      `${what} holds a lone UTF-16 surrogate, which UTF-8 cannot carry`,
    );
  }
}

/** UTF-8 bytes of `text`; a string holding a lone surrogate cannot be sent and is refused. */
export function utf8Encode(text: string, what: string): Uint8Array {
  checkWellFormed(text, what);
  return encoder.encode(text);
}

/**
 * Number of UTF-8 bytes `text` takes, without encoding it (a lone surrogate counts 3, as U+FFFD,
 * but utf8EncodeInto refuses such text anyway).
 */
export function utf8Length(text: string): number {
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) length += 1;
    else if (unit < 0x800) length += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        length += 4;
        i++;
      } else length += 3;
    } else length += 3;
  }
  return length;
}

/** Writes the UTF-8 of `text` into `target` at `offset` (which must have room) and returns its length. */
export function utf8EncodeInto(text: string, target: Uint8Array, offset: number, what: string): number {
  checkWellFormed(text, what);
  return encoder.encodeInto(text, target.subarray(offset)).written;
}

/** Text of UTF-8 `bytes`; malformed UTF-8 is refused rather than replaced. */
export function utf8Decode(bytes: Uint8Array, what: string): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw wireError(WireErrorCode.BAD_VALUE, `${what} is not valid UTF-8`);
  }
}
