import type { ServiceContext, ServiceStream } from './service-context.js';

const MAX_MESSAGE = 1024 * 1024;

/**
 * Stdio text stream (port 1000) while no IPC client has bound the port: what a peer writes lands in
 * the inbox as text, one message per connection (or per MiB).
 */
export function serveStdio(served: ServiceStream, context: ServiceContext): void {
  const { stream, remote, localPort } = served;
  let parts: Buffer[] = [];
  let size = 0;
  const flush = (): void => {
    if (size === 0) return;
    const data = Buffer.concat(parts);
    parts = [];
    size = 0;
    context.mailbox.saveMessage('text', remote, localPort, data);
    context.emit('message.received', { from: remote, port: localPort, type: 'text', bytes: data.length });
  };
  stream.on('data', (chunk: Buffer) => {
    parts.push(chunk);
    size += chunk.length;
    if (size >= MAX_MESSAGE) flush();
  });
  stream.on('end', () => {
    flush();
    stream.end();
  });
  stream.on('error', () => {
    flush();
    stream.destroy();
  });
}
