import type { Duplex } from 'node:stream';
import type { McpLog } from './log.js';
import { type ServerCommand, ServerProcess } from './server-process.js';
import type { SessionHost } from './session-host.js';

/** Each session gets its own server process; bytes are piped through untouched. */
export class ProcessPerSession implements SessionHost {
  private readonly spec: ServerCommand;
  private readonly log: McpLog;
  private readonly processes = new Set<ServerProcess>();

  constructor(spec: ServerCommand, log: McpLog) {
    this.spec = spec;
    this.log = log;
  }

  async serve(stream: Duplex, fields: Record<string, unknown>): Promise<void> {
    const server = new ServerProcess(this.spec, this.log, fields);
    this.processes.add(server);
    const streamClosed = new Promise<void>((resolve) => {
      if (stream.destroyed) resolve();
      else stream.once('close', () => resolve());
    });
    stream.on('error', (error) =>
      this.log('debug', 'mcp session stream error', { ...fields, error: error.message }),
    );
    stream.pipe(server.child.stdin);
    server.child.stdout.pipe(stream);
    stream.once('end', () => server.stop());
    stream.once('close', () => server.stop());
    const exit = await server.exited;
    this.processes.delete(server);
    if (exit.error !== undefined) {
      stream.destroy();
    } else if (!stream.destroyed) {
      // stdout's end already ended our side; the peer's FIN normally follows. Do not wait forever.
      // The pipe into stdin is gone with the process: keep reading so that the FIN is seen.
      stream.unpipe(server.child.stdin);
      stream.resume();
      stream.end();
      const timer = setTimeout(() => stream.destroy(), 5000);
      await streamClosed;
      clearTimeout(timer);
    }
    await streamClosed;
  }

  async close(): Promise<void> {
    const exits = [...this.processes].map((server) => {
      server.kill();
      return server.exited;
    });
    await Promise.all(exits);
  }
}
