import { createHash, randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { NatErrorCode, natError } from '../errors.js';

/** The GUID of RFC 6455 §1.3, appended to the client's key before hashing. */
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Largest HTTP response head read from a proxy or a relay (status line and headers). */
export const MAX_HTTP_HEAD = 8192;

/** `Sec-WebSocket-Accept` for a client's `Sec-WebSocket-Key`. */
export function wsAcceptKey(key: string): string {
  return createHash('sha1').update(`${key}${WS_GUID}`).digest('base64');
}

/** A fresh `Sec-WebSocket-Key`: 16 random bytes, base64. */
export function wsClientKey(): string {
  return randomBytes(16).toString('base64');
}

export interface HttpResponseHead {
  readonly status: number;
  readonly reason: string;
  /** Header names lowercased; a repeated header keeps its last value. */
  readonly headers: ReadonlyMap<string, string>;
}

/** Parses `HTTP/1.x NNN reason` and the header lines (no body). Throws `code` on anything else. */
export function parseHttpResponseHead(text: string, code: NatErrorCode): HttpResponseHead {
  const lines = text.split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0] ?? '');
  if (match === null)
    throw natError(code, `not an HTTP response: ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`);
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw natError(code, `malformed header line ${JSON.stringify(line.slice(0, 80))}`);
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { status: Number(match[1]), reason: match[2] ?? '', headers };
}

/**
 * Reads an HTTP head (up to the blank line) from `socket`, at most MAX_HTTP_HEAD bytes. Resolves
 * with the head's text and whatever followed it (the first bytes of the next protocol), which the
 * caller must feed to its next reader. Rejects with `code` on a head too large, a close or an error.
 */
export function readHttpHead(
  socket: Duplex,
  code: NatErrorCode,
  signal?: AbortSignal,
): Promise<{ head: string; rest: Uint8Array }> {
  return new Promise((resolve, reject) => {
    let held: Buffer = Buffer.alloc(0);
    const cleanup = (): void => {
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
    };
    const fail = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const onData = (chunk: Buffer): void => {
      held = held.length === 0 ? chunk : Buffer.concat([held, chunk]);
      const end = held.indexOf('\r\n\r\n');
      if (end < 0) {
        if (held.length > MAX_HTTP_HEAD) fail(natError(code, `HTTP head over ${MAX_HTTP_HEAD} bytes`));
        return;
      }
      if (end > MAX_HTTP_HEAD) {
        fail(natError(code, `HTTP head over ${MAX_HTTP_HEAD} bytes`));
        return;
      }
      cleanup();
      // Stop the flow until the next reader attaches: no byte may be emitted with no listener.
      socket.pause();
      resolve({ head: held.subarray(0, end).toString('latin1'), rest: held.subarray(end + 4) });
    };
    const onClose = (): void => fail(natError(code, 'connection closed before the HTTP head ended'));
    const onError = (error: Error): void =>
      fail(natError(code, `connection failed: ${error.message}`, error));
    const onAbort = (): void => fail(natError(NatErrorCode.ABORTED, 'aborted while reading an HTTP head'));
    if (signal?.aborted === true) {
      onAbort();
      return;
    }
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', onError);
    signal?.addEventListener('abort', onAbort);
    socket.resume();
  });
}
