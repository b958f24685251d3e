import { joinCounter, splitCounter, TWO_32 } from './_counter.js';

/** Counters the window remembers: the highest accepted one and the 255 below it, as the reference. */
export const REPLAY_WINDOW_SIZE = 256;

const WORDS = REPLAY_WINDOW_SIZE / 32;
const POSITION_MASK = REPLAY_WINDOW_SIZE - 1;

/**
 * The anti-replay window over the counters of one sender's nonces (reference §4.3, §13.3).
 *
 * - Counter 0 is never valid; a maximum of 0 means "nothing received yet", and the first accepted
 *   counter becomes the maximum.
 * - A counter above the maximum is new; it slides the window forward.
 * - A counter 256 or more below the maximum is rejected (too old to tell), as is one already seen.
 *
 * The bitmap is a ring of eight u32 words indexed by `counter mod 256`: sliding forward only clears
 * the bits of the counters that fall out (at most eight word writes), so every call is O(1) and
 * nothing is shifted. Counters are u64: the `…Split` methods take them as two u32 halves, which is
 * how the opener calls them (no BigInt per packet); the others take a number (safe integer) or a
 * bigint, and treat anything outside u64 as never valid.
 *
 * `check` does not record. A receiver checks, authenticates, and only then marks: marking before
 * authentication (as the reference does, clearing the bit again on failure) would let a forged frame
 * with a huge counter slide the window, after which every genuine frame is "too old".
 */
export class ReplayWindow {
  readonly #bits = new Uint32Array(WORDS);
  #maxHi = 0;
  #maxLo = 0;

  /** The highest counter accepted so far; 0n when none. */
  get max(): bigint {
    return joinCounter(this.#maxHi, this.#maxLo);
  }

  /** Whether a frame with this counter may be accepted (nothing is recorded). */
  check(counter: number | bigint): boolean {
    const parts = splitCounter(counter);
    return parts !== undefined && this.checkSplit(parts[0], parts[1]);
  }

  /** Records `counter` as seen, if `check` allows it; returns what `check` said. */
  mark(counter: number | bigint): boolean {
    const parts = splitCounter(counter);
    return parts !== undefined && this.markSplit(parts[0], parts[1]);
  }

  /** Same as `mark`: check and record in one step, for callers that have already authenticated. */
  accept(counter: number | bigint): boolean {
    return this.mark(counter);
  }

  /** Forgets everything (as for a fresh tunnel key). */
  reset(): void {
    this.#bits.fill(0);
    this.#maxHi = 0;
    this.#maxLo = 0;
  }

  /** `check` for the counter `hi · 2^32 + lo` (both u32). */
  checkSplit(hi: number, lo: number): boolean {
    if (hi === 0 && lo === 0) return false;
    if (this.#maxHi === 0 && this.#maxLo === 0) return true;
    // Exact whenever |distance| < 2^53; beyond that only its sign and size ≥ 256 matter.
    const distance = (hi - this.#maxHi) * TWO_32 + (lo - this.#maxLo);
    if (distance > 0) return true;
    if (distance <= -REPLAY_WINDOW_SIZE) return false;
    const position = lo & POSITION_MASK;
    return (this.#bits[position >>> 5]! & (1 << (position & 31))) === 0;
  }

  /** `mark` for the counter `hi · 2^32 + lo` (both u32). */
  markSplit(hi: number, lo: number): boolean {
    if (!this.checkSplit(hi, lo)) return false;
    if (this.#maxHi === 0 && this.#maxLo === 0) {
      this.#bits.fill(0);
      this.#advanceTo(hi, lo);
    } else {
      const distance = (hi - this.#maxHi) * TWO_32 + (lo - this.#maxLo);
      if (distance >= REPLAY_WINDOW_SIZE) {
        this.#bits.fill(0);
        this.#advanceTo(hi, lo);
      } else if (distance > 0) {
        // The positions of max+1 … counter held counters 256 lower, which now leave the window.
        this.#clear((this.#maxLo + 1) & POSITION_MASK, distance);
        this.#advanceTo(hi, lo);
      }
    }
    const position = lo & POSITION_MASK;
    this.#bits[position >>> 5] = this.#bits[position >>> 5]! | (1 << (position & 31));
    return true;
  }

  #advanceTo(hi: number, lo: number): void {
    this.#maxHi = hi;
    this.#maxLo = lo;
  }

  /** Clears `count` (< 256) ring positions starting at `start`, a word at a time. */
  #clear(start: number, count: number): void {
    let position = start;
    let left = count;
    while (left > 0) {
      const bit = position & 31;
      const run = Math.min(32 - bit, left);
      const mask = run === 32 ? 0xffff_ffff : ((1 << run) - 1) << bit;
      const word = position >>> 5;
      this.#bits[word] = this.#bits[word]! & ~mask;
      position = (position + run) & POSITION_MASK;
      left -= run;
    }
  }
}
