import { checkU32 } from './codec.js';
import { WireErrorCode, wireError } from './errors.js';

/**
 * One selectively acknowledged byte range: `left` is its first byte's sequence number, `right` is one
 * past its last byte (both u32, in wrapping sequence space).
 */
export interface SackBlock {
  readonly left: number;
  readonly right: number;
}

/** Most blocks a SACK carries, as in TCP. */
export const MAX_SACK_BLOCKS = 4;

// "SACK" in ASCII.
const S = 0x53;
const A = 0x41;
const C = 0x43;
const K = 0x4b;
const SACK_HEADER_SIZE = 5;
const SACK_BLOCK_SIZE = 8;

function put32(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 24;
  out[at + 1] = value >>> 16;
  out[at + 2] = value >>> 8;
  out[at + 3] = value;
}

/**
 * The payload of an ACK that carries SACK blocks: `"SACK"`, a count byte (1..4), then count pairs of
 * u32 (left, right). Zero or more than 4 blocks is WIRE_OUT_OF_RANGE (the reference sends nothing
 * for none and silently keeps the first 4; we make the caller choose). A block that is empty or
 * inverted in sequence space (right not after left) is WIRE_BAD_VALUE: the peer could not use it.
 */
export function encodeSack(blocks: readonly SackBlock[]): Uint8Array {
  const count = blocks.length;
  if (count < 1 || count > MAX_SACK_BLOCKS) {
    throw wireError(WireErrorCode.OUT_OF_RANGE, `a SACK carries 1..${MAX_SACK_BLOCKS} blocks, got ${count}`);
  }
  const out = new Uint8Array(SACK_HEADER_SIZE + count * SACK_BLOCK_SIZE);
  out[0] = S;
  out[1] = A;
  out[2] = C;
  out[3] = K;
  out[4] = count;
  for (let i = 0, at = SACK_HEADER_SIZE; i < count; i++, at += SACK_BLOCK_SIZE) {
    const { left, right } = blocks[i]!;
    if (left >>> 0 !== left) checkU32(left, `blocks[${i}].left`);
    if (right >>> 0 !== right) checkU32(right, `blocks[${i}].right`);
    if (((right - left) | 0) <= 0) {
      throw wireError(WireErrorCode.BAD_VALUE, `blocks[${i}] is empty or inverted: ${left}..${right}`);
    }
    put32(out, at, left);
    put32(out, at + 4, right);
  }
  return out;
}

/**
 * The SACK blocks in an ACK's payload, or undefined when the payload is not a SACK. It never throws.
 *
 * This reproduces the reference exactly, quirk included: the reference tries every ACK payload as a
 * SACK first, and a payload counts as one when it starts with `"SACK"`, its count byte is 1..4 and
 * it holds at least 5 + 8·count bytes. Bytes after the last block are ignored, and the blocks are
 * NOT checked (an empty or inverted block still makes the payload a SACK). So user data that happens
 * to start like a SACK, sent on a segment with the ACK flag, is taken as a SACK rather than data by a
 * reference peer; a compatible receiver must classify it the same way, so this function does, and
 * leaves it to the caller to ignore blocks for which `isValidSackBlock` is false.
 */
export function decodeSack(payload: Uint8Array): SackBlock[] | undefined {
  if (
    payload.length < SACK_HEADER_SIZE ||
    payload[0] !== S ||
    payload[1] !== A ||
    payload[2] !== C ||
    payload[3] !== K
  ) {
    return undefined;
  }
  const count = payload[4]!;
  if (count < 1 || count > MAX_SACK_BLOCKS || payload.length < SACK_HEADER_SIZE + count * SACK_BLOCK_SIZE) {
    return undefined;
  }
  const blocks: SackBlock[] = [];
  for (let i = 0, at = SACK_HEADER_SIZE; i < count; i++, at += SACK_BLOCK_SIZE) {
    const left =
      ((payload[at]! << 24) | (payload[at + 1]! << 16) | (payload[at + 2]! << 8) | payload[at + 3]!) >>> 0;
    const right =
      ((payload[at + 4]! << 24) | (payload[at + 5]! << 16) | (payload[at + 6]! << 8) | payload[at + 7]!) >>>
      0;
    blocks.push({ left, right });
  }
  return blocks;
}

/** True when the block covers at least one byte: `right` is after `left` in sequence space. */
export function isValidSackBlock(block: SackBlock): boolean {
  return ((block.right - block.left) | 0) > 0;
}

/** Bytes a SACK payload of `count` blocks takes. */
export function sackSize(count: number): number {
  return SACK_HEADER_SIZE + count * SACK_BLOCK_SIZE;
}
