import { isPilotError, type PilotError, WireErrorCode, wireError } from './errors.js';
import { concatParts, readU32 } from './frame-bytes.js';
import { decodeFilePayload, FILE_NAME_MAX_BYTES } from './service-file.js';
import {
  DataExchangeType,
  SERVICE_FRAME_HEADER_SIZE,
  SERVICE_MAX_PAYLOAD,
  type ServiceFrame,
} from './service-frame.js';

/** What a data-exchange stream carries, as it arrives. */
export type DataExchangeEvent =
  /** A whole frame that is not FILE (text, JSON, binary, or a type the service answers ERR to). */
  | { readonly kind: 'frame'; readonly frame: ServiceFrame }
  /** A FILE frame began: its name, and how many data bytes follow (as `file-data` events). */
  | { readonly kind: 'file-start'; readonly name: string; readonly bytes: number }
  /** Data of the FILE frame under way: a view of a pushed chunk (or a copy of its first bytes). */
  | { readonly kind: 'file-data'; readonly data: Uint8Array }
  /**
   * The FILE frame ended. With `error`, its payload was not a valid file payload (the name:
   * what decodeFilePayload would throw); then no `file-start` or `file-data` came before it.
   */
  | { readonly kind: 'file-end'; readonly error?: PilotError };

const State = { HEADER: 0, FILE_HEAD: 1, FILE_DATA: 2, WHOLE: 3 } as const;
type State = (typeof State)[keyof typeof State];

/** Bytes of a FILE payload that hold its name: `[u16 length][name]`, at most. */
const FILE_HEAD_MAX = 2 + FILE_NAME_MAX_BYTES;

/**
 * Splits a data-exchange stream (`[u32 type][u32 length][payload]` frames) like ServiceFrameDecoder,
 * except that a FILE frame is not gathered whole: its name is read first and its data is handed
 * out as it arrives, so that a receiver writes a 16 MiB frame to disk while it comes in instead of
 * holding it and joining it at the end. Other frames come out whole (a view of the pushed chunk
 * when one holds it, else joined once). A length over 16 MiB is WIRE_TOO_LARGE and breaks the
 * decoder for good (the stream must be closed), as in ServiceFrameDecoder. Chunks are referenced,
 * not copied: do not mutate a chunk after pushing it.
 */
export class DataExchangeDecoder {
  #state: State = State.HEADER;
  /** The frame header, then the FILE payload's head. */
  readonly #small = new Uint8Array(Math.max(SERVICE_FRAME_HEADER_SIZE, FILE_HEAD_MAX));
  #fill = 0;
  #type = 0;
  #length = 0;
  /** FILE: bytes of the payload's head to gather; then bytes of the frame still to come. */
  #need = 0;
  #remaining = 0;
  #bad: PilotError | undefined;
  #parts: Uint8Array[] = [];
  #gathered = 0;
  #failure: PilotError | undefined;

  /** Bytes held that belong to a frame not yet complete (FILE data is never held). */
  get bufferedBytes(): number {
    return this.#state === State.WHOLE ? this.#gathered : this.#fill;
  }

  /** Feeds the next chunk and returns what it completes, in order. */
  push(chunk: Uint8Array): DataExchangeEvent[] {
    if (this.#failure !== undefined) throw this.#failure;
    const out: DataExchangeEvent[] = [];
    try {
      this.#run(chunk, out);
    } catch (error) {
      this.#failure = isPilotError(error)
        ? error
        : wireError(WireErrorCode.BAD_VALUE, `stream decoding failed: ${String(error)}`);
      this.#parts = [];
      throw this.#failure;
    }
    return out;
  }

  /** Declares the end of the stream: WIRE_TRUNCATED when it stopped inside a frame. */
  end(): void {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#state !== State.HEADER || this.#fill > 0) {
      this.#failure = wireError(WireErrorCode.TRUNCATED, 'stream ended inside a service frame');
      throw this.#failure;
    }
  }

  #run(chunk: Uint8Array, out: DataExchangeEvent[]): void {
    let at = 0;
    for (;;) {
      switch (this.#state) {
        case State.HEADER: {
          if (at === chunk.length) return;
          const take = Math.min(SERVICE_FRAME_HEADER_SIZE - this.#fill, chunk.length - at);
          this.#small.set(chunk.subarray(at, at + take), this.#fill);
          this.#fill += take;
          at += take;
          if (this.#fill < SERVICE_FRAME_HEADER_SIZE) return;
          this.#type = readU32(this.#small, 0);
          this.#length = readU32(this.#small, 4);
          if (this.#length > SERVICE_MAX_PAYLOAD) {
            throw wireError(
              WireErrorCode.TOO_LARGE,
              `service frame announces ${this.#length} bytes, over 16 MiB`,
            );
          }
          this.#fill = 0;
          if (this.#type === DataExchangeType.FILE) {
            this.#state = State.FILE_HEAD;
            this.#need = Math.min(this.#length, FILE_HEAD_MAX);
          } else {
            this.#state = State.WHOLE;
            this.#parts = [];
            this.#gathered = 0;
          }
          break;
        }
        case State.FILE_HEAD: {
          const take = Math.min(this.#need - this.#fill, chunk.length - at);
          this.#small.set(chunk.subarray(at, at + take), this.#fill);
          this.#fill += take;
          at += take;
          if (this.#fill < this.#need) return;
          this.#remaining = this.#length - this.#need;
          this.#fill = 0;
          this.#state = State.FILE_DATA;
          // The head alone decodes as the whole payload would: a name that fits is within it, and
          // a payload shorter than the head is all of it (the same errors, the same messages).
          let file: ReturnType<typeof decodeFilePayload>;
          try {
            file = decodeFilePayload(this.#small.subarray(0, this.#need));
          } catch (error) {
            if (!isPilotError(error)) throw error;
            this.#bad = error;
            break;
          }
          const nameBytes = this.#need - file.data.length;
          out.push({ kind: 'file-start', name: file.name, bytes: this.#length - nameBytes });
          if (file.data.length > 0) out.push({ kind: 'file-data', data: file.data.slice() });
          break;
        }
        case State.FILE_DATA: {
          if (this.#remaining > 0) {
            if (at === chunk.length) return;
            const take = Math.min(this.#remaining, chunk.length - at);
            if (this.#bad === undefined) out.push({ kind: 'file-data', data: chunk.subarray(at, at + take) });
            at += take;
            this.#remaining -= take;
            if (this.#remaining > 0) return;
          }
          out.push(this.#bad === undefined ? { kind: 'file-end' } : { kind: 'file-end', error: this.#bad });
          this.#bad = undefined;
          this.#state = State.HEADER;
          break;
        }
        case State.WHOLE: {
          if (this.#gathered < this.#length) {
            if (at === chunk.length) return;
            const take = Math.min(this.#length - this.#gathered, chunk.length - at);
            this.#parts.push(chunk.subarray(at, at + take));
            this.#gathered += take;
            at += take;
            if (this.#gathered < this.#length) return;
          }
          const payload =
            this.#parts.length === 1
              ? (this.#parts[0] as Uint8Array)
              : concatParts(this.#parts, this.#gathered);
          this.#parts = [];
          this.#gathered = 0;
          this.#state = State.HEADER;
          out.push({ kind: 'frame', frame: { type: this.#type, payload } });
          break;
        }
      }
    }
  }
}
