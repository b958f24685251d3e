import { NatErrorCode, natError } from '../errors.js';

/**
 * RFC 6455 framing, the subset a binary relay needs and everything a peer may legally send us:
 * binary and text messages (fragmented or not), ping, pong and close. Written here rather than
 * taken from `ws` because the relay owns its socket end to end (an HTTP CONNECT tunnel, then TLS,
 * then this), needs backpressure it can see (`writableLength`), and every byte from the other end
 * is hostile: a streaming decoder with hard limits and typed errors, fuzzed (ws-frame.test.ts).
 */
export const WsOpcode = {
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const;
export type WsOpcode = (typeof WsOpcode)[keyof typeof WsOpcode];

export type WsMessage =
  | { readonly kind: 'binary'; readonly data: Uint8Array }
  | { readonly kind: 'text'; readonly data: Uint8Array }
  | { readonly kind: 'ping'; readonly data: Uint8Array }
  | { readonly kind: 'pong'; readonly data: Uint8Array }
  | { readonly kind: 'close'; readonly code: number | undefined; readonly reason: string };

/** Largest payload of a control frame (RFC 6455 §5.5). */
export const WS_MAX_CONTROL_PAYLOAD: number = 125;

/** Bytes of the header of a frame carrying `length` payload bytes. */
export function wsHeaderSize(length: number, masked: boolean): number {
  return (length < 126 ? 2 : length < 65_536 ? 4 : 10) + (masked ? 4 : 0);
}

/**
 * One final frame. `mask` (4 bytes) is required from a client and forbidden from a server; the
 * payload is copied (masked in the copy), never changed in place.
 */
export function encodeWsFrame(opcode: WsOpcode, payload: Uint8Array, mask?: Uint8Array): Uint8Array {
  if (mask !== undefined && mask.length !== 4)
    throw natError(NatErrorCode.OUT_OF_RANGE, `mask must be 4 bytes, got ${mask.length}`);
  if (opcode >= 0x8 && payload.length > WS_MAX_CONTROL_PAYLOAD)
    throw natError(NatErrorCode.OUT_OF_RANGE, `control frame payload of ${payload.length} bytes is over 125`);
  const length = payload.length;
  const header = wsHeaderSize(length, mask !== undefined);
  const out = new Uint8Array(header + length);
  out[0] = 0x80 | opcode;
  const maskBit = mask === undefined ? 0 : 0x80;
  let at = 2;
  if (length < 126) {
    out[1] = maskBit | length;
  } else if (length < 65_536) {
    out[1] = maskBit | 126;
    out[2] = length >>> 8;
    out[3] = length & 0xff;
    at = 4;
  } else {
    out[1] = maskBit | 127;
    new DataView(out.buffer).setBigUint64(2, BigInt(length));
    at = 10;
  }
  if (mask === undefined) {
    out.set(payload, at);
    return out;
  }
  out.set(mask, at);
  at += 4;
  for (let i = 0; i < length; i++) out[at + i] = (payload[i] as number) ^ (mask[i & 3] as number);
  return out;
}

/** A close frame's payload: the code (1000 normal, 1002 protocol error, 1009 too big…) and a short reason. */
export function encodeWsClose(code: number, reason = ''): Uint8Array {
  const text = new TextEncoder().encode(reason).subarray(0, WS_MAX_CONTROL_PAYLOAD - 2);
  const out = new Uint8Array(2 + text.length);
  out[0] = code >>> 8;
  out[1] = code & 0xff;
  out.set(text, 2);
  return out;
}

export interface WsDecoderOptions {
  /** `true` on a server (client frames must be masked), `false` on a client (server frames must not be). */
  readonly expectMasked: boolean;
  /** Largest message (all fragments together) accepted. */
  readonly maxMessage: number;
}

const malformed = (message: string) => natError(NatErrorCode.WS_MALFORMED, message);

/**
 * A streaming decoder: `push` takes whatever the socket read and returns the complete messages in
 * it. It throws a PilotError (NAT_WS_MALFORMED, NAT_WS_TOO_LARGE) on the first violation and is
 * unusable afterwards: the caller closes the connection (1002 / 1009).
 */
export class WsFrameDecoder {
  readonly #expectMasked: boolean;
  readonly #maxMessage: number;
  readonly #chunks: Uint8Array[] = [];
  #buffered = 0;
  /** Fragments of a message in progress (first frame's opcode, parts). */
  #fragments: { opcode: WsOpcode; parts: Uint8Array[]; length: number } | undefined;
  #failed = false;

  constructor(options: WsDecoderOptions) {
    this.#expectMasked = options.expectMasked;
    this.#maxMessage = options.maxMessage;
  }

  /** Bytes received and not yet part of a returned message (a frame in progress). */
  get buffered(): number {
    return this.#buffered;
  }

  push(chunk: Uint8Array): WsMessage[] {
    if (this.#failed) throw malformed('the decoder already failed');
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
    }
    const out: WsMessage[] = [];
    try {
      for (;;) {
        const message = this.#next();
        if (message === null) break;
        if (message !== undefined) out.push(message);
      }
    } catch (error) {
      this.#failed = true;
      throw error;
    }
    return out;
  }

  /** Copies `n` bytes from the front without consuming them (n ≤ 14). */
  #peek(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let at = 0;
    for (const chunk of this.#chunks) {
      const take = Math.min(n - at, chunk.length);
      out.set(chunk.subarray(0, take), at);
      at += take;
      if (at === n) break;
    }
    return out;
  }

  /** Removes `n` bytes from the front and returns them (one copy at most). */
  #take(n: number): Uint8Array {
    this.#buffered -= n;
    const first = this.#chunks[0];
    if (first !== undefined && first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      return out;
    }
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const chunk = this.#chunks[0] as Uint8Array;
      const take = Math.min(n - at, chunk.length);
      out.set(chunk.subarray(0, take), at);
      at += take;
      if (take === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(take);
    }
    return out;
  }

  /** The next message, undefined for a frame that completed nothing yet, null when more bytes are needed. */
  #next(): WsMessage | undefined | null {
    if (this.#buffered < 2) return null;
    const head = this.#peek(Math.min(this.#buffered, 14));
    const b0 = head[0] as number;
    const b1 = head[1] as number;
    const fin = (b0 & 0x80) !== 0;
    if ((b0 & 0x70) !== 0) throw malformed('reserved bits set (no extension was negotiated)');
    const opcode = b0 & 0x0f;
    const masked = (b1 & 0x80) !== 0;
    if (masked !== this.#expectMasked)
      throw malformed(this.#expectMasked ? 'client frame not masked' : 'server frame masked');
    let length = b1 & 0x7f;
    let at = 2;
    if (length === 126) {
      if (this.#buffered < 4) return null;
      length = ((head[2] as number) << 8) | (head[3] as number);
      if (length < 126) throw malformed('length not in its shortest form');
      at = 4;
    } else if (length === 127) {
      if (this.#buffered < 10) return null;
      const view = new DataView(head.buffer, head.byteOffset, head.length);
      const big = view.getBigUint64(2);
      if (big >> 63n !== 0n) throw malformed('64-bit length with the top bit set');
      if (big < 65_536n) throw malformed('length not in its shortest form');
      if (big > BigInt(this.#maxMessage))
        throw natError(NatErrorCode.WS_TOO_LARGE, `frame of ${big} bytes is over ${this.#maxMessage}`);
      length = Number(big);
      at = 10;
    }
    const isControl = opcode >= 0x8;
    if (isControl) {
      if (opcode > WsOpcode.PONG) throw malformed(`reserved control opcode ${opcode}`);
      if (!fin) throw malformed('fragmented control frame');
      if (length > WS_MAX_CONTROL_PAYLOAD) throw malformed(`control frame of ${length} bytes`);
    } else if (opcode > WsOpcode.BINARY) {
      throw malformed(`reserved data opcode ${opcode}`);
    } else if (opcode === WsOpcode.CONTINUATION) {
      if (this.#fragments === undefined) throw malformed('continuation without a message in progress');
    } else if (this.#fragments !== undefined) {
      throw malformed('new message before the previous one finished');
    }
    if (!isControl && (this.#fragments?.length ?? 0) + length > this.#maxMessage)
      throw natError(NatErrorCode.WS_TOO_LARGE, `message over ${this.#maxMessage} bytes`);
    const maskAt = at;
    if (masked) at += 4;
    if (this.#buffered < at + length) return null;
    const mask = masked ? head.slice(maskAt, maskAt + 4) : undefined;
    this.#take(at);
    let payload = this.#take(length);
    if (mask !== undefined) {
      // Unmask into a copy: the chunk may be a view of a buffer the caller still holds.
      const plain = new Uint8Array(length);
      for (let i = 0; i < length; i++) plain[i] = (payload[i] as number) ^ (mask[i & 3] as number);
      payload = plain;
    }
    if (isControl) return this.#control(opcode, payload);
    if (opcode !== WsOpcode.CONTINUATION && fin)
      return { kind: opcode === WsOpcode.TEXT ? 'text' : 'binary', data: payload };
    if (opcode !== WsOpcode.CONTINUATION) {
      this.#fragments = { opcode: opcode as WsOpcode, parts: [payload], length };
      return undefined;
    }
    const fragments = this.#fragments as { opcode: WsOpcode; parts: Uint8Array[]; length: number };
    fragments.parts.push(payload);
    fragments.length += length;
    if (!fin) return undefined;
    this.#fragments = undefined;
    const data = new Uint8Array(fragments.length);
    let offset = 0;
    for (const part of fragments.parts) {
      data.set(part, offset);
      offset += part.length;
    }
    return { kind: fragments.opcode === WsOpcode.TEXT ? 'text' : 'binary', data };
  }

  #control(opcode: number, payload: Uint8Array): WsMessage {
    if (opcode === WsOpcode.PING) return { kind: 'ping', data: payload };
    if (opcode === WsOpcode.PONG) return { kind: 'pong', data: payload };
    if (payload.length === 0) return { kind: 'close', code: undefined, reason: '' };
    if (payload.length === 1) throw malformed('close frame with a 1-byte payload');
    const code = ((payload[0] as number) << 8) | (payload[1] as number);
    // RFC 6455 §7.4: 1000-1003, 1007-1011 and 3000-4999 may be sent; the rest may not.
    const valid =
      (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) || (code >= 3000 && code <= 4999);
    if (!valid) throw malformed(`close code ${code} may not be sent`);
    let reason: string;
    try {
      reason = new TextDecoder('utf-8', { fatal: true }).decode(payload.subarray(2));
    } catch {
      throw malformed('close reason is not UTF-8');
    }
    return { kind: 'close', code, reason };
  }
}
