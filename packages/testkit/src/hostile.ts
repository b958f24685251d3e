/**
 * Hostile inputs every decoder must survive: it must return a value or throw a PilotError with a
 * code, never anything else. `hostileVariants(valid)` derives the classic mutations of one valid
 * encoding (every truncation, every single-bit flip in the first 64 bytes, extension, zeroing).
 */
export interface HostileInput {
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** Inputs that need no valid example: empty, tiny, huge, all-zero, all-ones, magic-looking. */
export function hostileBasics(): HostileInput[] {
  const filled = (length: number, value: number): Uint8Array => new Uint8Array(length).fill(value);
  return [
    { name: 'empty', bytes: new Uint8Array(0) },
    { name: 'one zero byte', bytes: filled(1, 0) },
    { name: 'one 0xff byte', bytes: filled(1, 0xff) },
    { name: '3 bytes', bytes: Uint8Array.of(0x50, 0x49, 0x4c) },
    { name: 'magic PILT alone', bytes: Uint8Array.of(0x50, 0x49, 0x4c, 0x54) },
    { name: 'magic PILS alone', bytes: Uint8Array.of(0x50, 0x49, 0x4c, 0x53) },
    { name: '33 zero bytes', bytes: filled(33, 0) },
    { name: '34 zero bytes', bytes: filled(34, 0) },
    { name: '34 0xff bytes', bytes: filled(34, 0xff) },
    { name: '1500 0xff bytes', bytes: filled(1500, 0xff) },
    { name: '64 KiB + 1 zero bytes', bytes: filled(65_537, 0) },
    { name: '1 MiB + 1 0x41 bytes', bytes: filled(1_048_577, 0x41) },
  ];
}

/** Mutations of a valid encoding: truncations, bit flips, trailing garbage, zeroed and saturated copies. */
export function hostileVariants(valid: Uint8Array): HostileInput[] {
  const out: HostileInput[] = [];
  for (let length = 0; length < valid.length; length++) {
    out.push({ name: `truncated to ${length}`, bytes: valid.slice(0, length) });
  }
  const flipLimit = Math.min(valid.length, 64) * 8;
  for (let bit = 0; bit < flipLimit; bit++) {
    const copy = valid.slice();
    copy[bit >>> 3] = copy[bit >>> 3]! ^ (0x80 >>> (bit & 7));
    out.push({ name: `bit ${bit} flipped`, bytes: copy });
  }
  const extended = new Uint8Array(valid.length + 7);
  extended.set(valid);
  extended.fill(0xaa, valid.length);
  out.push({ name: 'trailing garbage', bytes: extended });
  out.push({ name: 'all zero, same length', bytes: new Uint8Array(valid.length) });
  out.push({ name: 'all 0xff, same length', bytes: new Uint8Array(valid.length).fill(0xff) });
  return out;
}
