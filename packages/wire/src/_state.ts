import { WireErrorCode, wireError } from './errors.js';

/**
 * The cursor every codec of the package reads and writes through, after Holepunch's
 * compact-encoding. One object serves the three passes:
 *
 * - preencode: `buffer` is still empty; each codec adds the bytes it will need to `end`.
 * - encode: `buffer` holds at least `end` bytes; each codec writes at `start` and advances it.
 * - decode: `buffer` holds the input; each codec reads at `start`, advances it, and never reads at or
 *   past `end` (it throws WIRE_TRUNCATED instead: see `need`).
 *
 * `start` and `end` are offsets into `buffer` (not into `buffer.buffer`), and `view` is a DataView
 * over exactly the bytes of `buffer`, so `view.getUint16(state.start)` and `buffer[state.start]`
 * address the same byte.
 *
 * `view` is created on first use and dropped whenever `buffer` is assigned: constructing a DataView
 * costs 150–300 ns in Node 20 (more than decoding a whole packet header), so the primitive codecs
 * read and write `buffer` byte by byte and most states never build one. Reach for `view` for floats
 * and 64-bit values.
 */
export interface State {
  start: number;
  end: number;
  buffer: Uint8Array;
  readonly view: DataView;
}

const EMPTY = new Uint8Array(0);

class CursorState implements State {
  start: number;
  end: number;
  #buffer: Uint8Array;
  #view: DataView | undefined = undefined;

  constructor(buffer: Uint8Array, start: number, end: number) {
    this.#buffer = buffer;
    this.start = start;
    this.end = end;
  }

  get buffer(): Uint8Array {
    return this.#buffer;
  }

  set buffer(buffer: Uint8Array) {
    this.#buffer = buffer;
    this.#view = undefined;
  }

  get view(): DataView {
    if (this.#view === undefined) {
      const b = this.#buffer;
      this.#view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    }
    return this.#view;
  }
}

/**
 * A state over `buffer` from `start` to `end` (default: all of it). With no buffer it is ready for a
 * preencode pass (`end` counts up from 0). Bounds outside the buffer are WIRE_OUT_OF_RANGE.
 */
export function createState(buffer: Uint8Array = EMPTY, start = 0, end: number = buffer.length): State {
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > buffer.length) {
    throw wireError(
      WireErrorCode.OUT_OF_RANGE,
      `state bounds ${start}..${end} do not fit a buffer of ${buffer.length} bytes`,
    );
  }
  return new CursorState(buffer, start, end);
}

/**
 * Points `state` at a new buffer without touching `start` and `end` (the same as assigning
 * `state.buffer`; kept as a named step for the preencode → allocate → encode sequence).
 */
export function resetBuffer(state: State, buffer: Uint8Array): void {
  state.buffer = buffer;
}

/**
 * Makes sure `n` more bytes can be read (or written) at the cursor; otherwise WIRE_TRUNCATED, with
 * `what` naming the field for the message. Call it once for a fixed-size group of fields rather than
 * once per byte.
 */
export function need(state: State, n: number, what: string): void {
  if (state.end - state.start < n) {
    throw wireError(
      WireErrorCode.TRUNCATED,
      `${what} needs ${n} bytes at offset ${state.start}, ${Math.max(0, state.end - state.start)} left`,
    );
  }
}

/** Bytes left between the cursor and `end`. */
export function remaining(state: State): number {
  return state.end - state.start;
}
