import { type ServiceStream, writeOrPause } from './service-context.js';

/** Echo (port 7): every byte received is sent back; the end is echoed too. */
export function serveEcho({ stream }: ServiceStream): void {
  stream.on('data', (chunk: Uint8Array) => writeOrPause(stream, chunk, stream));
  stream.on('end', () => stream.end());
  stream.on('error', () => stream.destroy());
}
