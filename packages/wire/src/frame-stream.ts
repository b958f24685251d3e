import { isPilotError, type PilotError, WireErrorCode, wireError } from './errors.js';
import { concatParts } from './frame-bytes.js';

/**
 * Tells how long the message at the head of `head` is, header included: a positive byte count, or
 * -1 while `head` is too short to tell. It throws a PilotError when the head is invalid (a length
 * over the limit, …); that error breaks the stream, since the next message boundary is unknowable.
 */
export type MessageMeasure = (head: Uint8Array) => number;

/** Turns one whole message (header included, exactly as measured) into the value handed out. */
export type MessageDecode<T> = (message: Uint8Array) => T;

/**
 * The streaming core shared by every length-prefixed format of the package (IPC and registry frames,
 * service frames, event-stream events). Bytes arrive in chunks of any size; whole messages come out.
 *
 * Copies are avoided where the chunking allows: a message lying inside one pushed chunk is handed
 * out as a view of that chunk; only a message split across chunks is joined, once, when its last
 * byte arrives (so a peer announcing a large message makes us hold only the bytes it really sent).
 * Held chunks are referenced, not copied: do not mutate a chunk after pushing it.
 */
export class StreamDecoder<T> {
  readonly #measure: MessageMeasure;
  readonly #decode: MessageDecode<T>;
  #parts: Uint8Array[] = [];
  #buffered = 0;
  /** Length of the message being gathered, or -1 while its header is still incomplete. */
  #need = -1;
  #failure: PilotError | undefined;

  constructor(measure: MessageMeasure, decode: MessageDecode<T>) {
    this.#measure = measure;
    this.#decode = decode;
  }

  /** Bytes held that belong to a message not yet complete. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /**
   * Feeds the next chunk of the stream and returns the messages it completes, in order. After an
   * error the stream has lost its framing: every later call throws that same error again.
   */
  push(chunk: Uint8Array): T[] {
    if (this.#failure !== undefined) throw this.#failure;
    const out: T[] = [];
    try {
      if (this.#buffered === 0) {
        this.#drain(chunk, out);
      } else if (this.#need < 0) {
        // The header itself was split: join it with the new bytes and start over from there.
        this.#parts.push(chunk);
        const joined = concatParts(this.#parts, this.#buffered + chunk.length);
        this.#reset();
        this.#drain(joined, out);
      } else {
        const missing = this.#need - this.#buffered;
        if (chunk.length < missing) {
          if (chunk.length > 0) this.#parts.push(chunk);
          this.#buffered += chunk.length;
          return out;
        }
        this.#parts.push(chunk.subarray(0, missing));
        const message = concatParts(this.#parts, this.#need);
        this.#reset();
        out.push(this.#decode(message));
        this.#drain(chunk.subarray(missing), out);
      }
    } catch (error) {
      this.#failure = isPilotError(error)
        ? error
        : wireError(WireErrorCode.BAD_VALUE, `stream decoding failed: ${String(error)}`);
      this.#reset();
      throw this.#failure;
    }
    return out;
  }

  /**
   * Declares the end of the stream. Throws WIRE_TRUNCATED when a message was left incomplete, so that
   * a peer hanging up mid-message is told apart from a clean close.
   */
  end(): void {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#buffered > 0) {
      const held = this.#buffered;
      this.#failure = wireError(
        WireErrorCode.TRUNCATED,
        `stream ended inside a message (${held} bytes held)`,
      );
      this.#reset();
      throw this.#failure;
    }
  }

  #reset(): void {
    this.#parts = [];
    this.#buffered = 0;
    this.#need = -1;
  }

  #drain(input: Uint8Array, out: T[]): void {
    let offset = 0;
    while (offset < input.length) {
      const rest = offset === 0 ? input : input.subarray(offset);
      const length = this.#measure(rest);
      if (length === 0) throw wireError(WireErrorCode.BAD_VALUE, 'a message cannot be zero bytes long');
      if (length < 0 || length > rest.length) {
        this.#parts = [rest];
        this.#buffered = rest.length;
        this.#need = length;
        return;
      }
      out.push(this.#decode(rest.subarray(0, length)));
      offset += length;
    }
  }
}
