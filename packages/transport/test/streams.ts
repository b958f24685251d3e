// Reading and writing whole payloads through PilotStreams, for the tests over real sockets.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { PilotStream } from '../src/node/index.js';

export function sha(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function readAll(stream: PilotStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  // Not `for await (… of stream)`: its end destroys the whole Duplex, and our writes in flight with it.
  for await (const chunk of stream.iterator({ destroyOnReturn: false })) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function writeAll(
  stream: PilotStream,
  data: Uint8Array,
  chunk: number = 64 * 1024,
): Promise<void> {
  for (let at = 0; at < data.length; at += chunk) {
    if (!stream.write(data.subarray(at, at + chunk))) await once(stream, 'drain');
  }
  stream.end();
}
