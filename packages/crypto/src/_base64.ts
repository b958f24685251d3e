// Standard base64 (RFC 4648 §4, with padding), the encoding Go's encoding/json gives []byte fields.
// Written out rather than taken from Buffer so that the default entry also runs in a browser.
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

const DECODE: Int16Array = (() => {
  const table = new Int16Array(128).fill(-1);
  for (let i = 0; i < ALPHABET.length; i++) table[ALPHABET.charCodeAt(i)] = i;
  return table;
})();

export function encodeBase64(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 3 <= bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]! + ALPHABET[(n >>> 6) & 63]! + ALPHABET[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += `${ALPHABET[n >>> 18]!}${ALPHABET[(n >>> 12) & 63]!}==`;
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += `${ALPHABET[n >>> 18]!}${ALPHABET[(n >>> 12) & 63]!}${ALPHABET[(n >>> 6) & 63]!}=`;
  }
  return out;
}

/**
 * Strict decoding: padded, standard alphabet, no whitespace, and the unused low bits of the last
 * symbol must be zero, so that each byte string has exactly one accepted text. Undefined when the
 * text is not canonical base64.
 */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0) return undefined;
  let padding = 0;
  if (text.endsWith('==')) padding = 2;
  else if (text.endsWith('=')) padding = 1;
  const out = new Uint8Array((text.length / 4) * 3 - padding);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const last = i + 4 === text.length;
    const symbols = last ? 4 - padding : 4;
    let n = 0;
    for (let j = 0; j < 4; j++) {
      let v = 0;
      if (j < symbols) {
        const code = text.charCodeAt(i + j);
        v = code < 128 ? DECODE[code]! : -1;
        if (v < 0) return undefined;
      }
      n = (n << 6) | v;
    }
    if (symbols === 4) {
      out[o++] = n >>> 16;
      out[o++] = (n >>> 8) & 0xff;
      out[o++] = n & 0xff;
    } else if (symbols === 3) {
      if ((n & 0xff) !== 0) return undefined;
      out[o++] = n >>> 16;
      out[o++] = (n >>> 8) & 0xff;
    } else {
      if ((n & 0xffff) !== 0) return undefined;
      out[o++] = n >>> 16;
    }
  }
  return out;
}
