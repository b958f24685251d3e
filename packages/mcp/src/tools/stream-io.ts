import type { Duplex, Readable, Writable } from 'node:stream';
import { type ServiceFrame, ServiceFrameDecoder } from '@pilot/wire';
import { ToolFailure } from './tool-error.js';

/** Rejects with a `timeout` failure when `promise` takes longer than `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new ToolFailure('timeout', `${what} took longer than ${ms} ms`)),
      ms,
    );
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Writes `data`, waiting until the stream took it. */
export function writeAll(stream: Writable, data: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(data, (error) => (error ? reject(error) : resolve()));
  });
}

/** The next chunk from `stream`, or undefined when it ends first. */
export function readChunk(stream: Readable): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      stream.off('readable', tryRead);
      stream.off('end', onEnd);
      stream.off('close', onEnd);
      stream.off('error', onError);
    };
    function tryRead(): void {
      const chunk = stream.read() as Buffer | null;
      if (chunk === null) return;
      done();
      resolve(chunk);
    }
    function onEnd(): void {
      done();
      resolve(undefined);
    }
    function onError(error: Error): void {
      done();
      reject(error);
    }
    if (stream.readableEnded || stream.destroyed) {
      resolve(undefined);
      return;
    }
    stream.on('readable', tryRead);
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

/** Service frames (the data-exchange ACKs) off a stream, one at a time. */
export class FrameReader {
  readonly #stream: Duplex;
  readonly #decoder = new ServiceFrameDecoder();
  readonly #frames: ServiceFrame[] = [];

  constructor(stream: Duplex) {
    this.#stream = stream;
  }

  async next(): Promise<ServiceFrame | undefined> {
    while (this.#frames.length === 0) {
      const chunk = await readChunk(this.#stream);
      if (chunk === undefined) return undefined;
      this.#frames.push(...this.#decoder.push(chunk));
    }
    return this.#frames.shift();
  }
}

/** Text of `data` when it is printable UTF-8, else base64. */
export function printable(data: Uint8Array): { text: string; encoding: 'utf8' | 'base64' } {
  const text = Buffer.from(data).toString('utf8');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we look for
  if (!text.includes('\uFFFD') && !/[\x00-\x08\x0E-\x1F]/.test(text)) return { text, encoding: 'utf8' };
  return { text: Buffer.from(data).toString('base64'), encoding: 'base64' };
}
