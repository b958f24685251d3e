import { type ServiceStream, writeOrPause } from './service-context.js';

/** Echo (port 7): every byte received is sent back; the end is echoed too. */
export function serveEcho({ stream }: ServiceStream): void {
  // A received chunk is never written to again: sent back as it is, not copied.
  stream.on('data', (chunk: Uint8Array) => writeOrPause(stream, chunk, stream, true));
  stream.on('end', () => stream.end());
  stream.on('error', () => stream.destroy());
}
