import type { Duplex, Readable, Writable } from 'node:stream';
import { cliError } from './errors.js';

/** Rejects with a timeout error when `promise` takes longer than `ms` (or `signal` aborts). */
export function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
  signal?: AbortSignal,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      cleanup();
      reject(cliError('timeout', `${what}: interrupted`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(cliError('timeout', `${what} took longer than ${ms} ms`));
    }, ms);
    const cleanup = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        cleanup();
        resolve(value);
      },
      (error: unknown) => {
        cleanup();
        reject(error);
      },
    );
  });
}

/** Writes `data`, waiting for the stream to drain. */
export function writeAll(stream: Writable, data: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(data, (error) => (error ? reject(error) : resolve()));
  });
}

/** The next chunk from `stream`, or undefined when it ends first. */
export function readChunk(stream: Readable): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const tryRead = (): boolean => {
      const chunk = stream.read() as Buffer | null;
      if (chunk === null) return false;
      finish();
      resolve(chunk);
      return true;
    };
    const onEnd = (): void => {
      finish();
      resolve(undefined);
    };
    const onError = (error: Error): void => {
      finish();
      reject(error);
    };
    const onReadable = (): void => {
      tryRead();
    };
    const finish = (): void => {
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('close', onEnd);
      stream.off('error', onError);
    };
    if (stream.readableEnded) {
      resolve(undefined);
      return;
    }
    stream.on('readable', onReadable);
    stream.on('end', onEnd);
    stream.on('close', onEnd);
    stream.on('error', onError);
    tryRead();
  });
}

/** Reads until `length` bytes arrived (fewer when the stream ends first). */
export async function readBytes(stream: Readable, length: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let have = 0;
  while (have < length) {
    const chunk = await readChunk(stream);
    if (chunk === undefined) break;
    chunks.push(chunk);
    have += chunk.length;
  }
  return Buffer.concat(chunks);
}

/** Ends our side and destroys the stream soon after, whatever the peer does. */
export function finish(stream: Duplex): void {
  if (!stream.writableEnded) stream.end();
  setTimeout(() => stream.destroy(), 1000).unref();
}

/** Text of `data` when it is printable UTF-8, else base64 with a marker. */
export function printable(data: Uint8Array): { text: string; encoding: 'utf8' | 'base64' } {
  const text = Buffer.from(data).toString('utf8');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we look for
  if (!text.includes('\uFFFD') && !/[\x00-\x08\x0E-\x1F]/.test(text)) return { text, encoding: 'utf8' };
  return { text: Buffer.from(data).toString('base64'), encoding: 'base64' };
}

/**
 * Writes `data` and waits for the first chunk back (`connect --message`, `send`): the reply as
 * text (or base64), and whether one came before the stream ended.
 */
export async function requestReply(
  stream: Duplex,
  data: Uint8Array,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<{ text: string; encoding: 'utf8' | 'base64'; replied: boolean }> {
  await writeAll(stream, data);
  const reply = await withTimeout(readChunk(stream), timeoutMs, 'waiting for the reply', signal);
  return { ...printable(reply ?? new Uint8Array()), replied: reply !== undefined };
}
