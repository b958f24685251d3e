import type { Readable, Writable } from 'node:stream';
import { PilotError } from '@pilot/wire';
import { McpErrorCode } from '../errors.js';
import type { ToolLimits } from './pilot-node.js';
import { serveToolsHttp, serveToolsStdio } from './serve-tools.js';
import { PilotToolHost } from './tool-host.js';

export interface RunToolServerOptions {
  readonly socketPath?: string;
  readonly home?: string;
  readonly readOnly?: boolean;
  readonly limits?: Partial<ToolLimits>;
  /** host:port for Streamable HTTP instead of stdio (host defaults to 127.0.0.1). */
  readonly http?: string;
  readonly input: Readable;
  readonly output: Writable;
  /** Where to say what is going on (never stdout: that is the MCP channel on stdio). */
  readonly note: (text: string) => void;
  /** Stops the server (SIGINT/SIGTERM). */
  readonly signal: AbortSignal;
}

/** "127.0.0.1:8080", ":8080", "8080", "[::1]:8080" as host and port. */
export function parseListen(text: string): { host: string; port: number } {
  const match = /^(?:(?:\[([^\]]+)\]|([^:[\]]*)):)?(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[3]);
  if (match === null || port > 65_535)
    throw new PilotError(McpErrorCode.INVALID_ARGUMENT, `--http takes [host:]port, not "${text}"`);
  return { host: match[1] ?? (match[2] || '127.0.0.1'), port };
}

/** The tool server until stdin ends (stdio) or `signal` aborts (both). */
export async function runToolServer(options: RunToolServerOptions): Promise<void> {
  const listen = options.http === undefined ? undefined : parseListen(options.http);
  const host = new PilotToolHost({
    ...(options.socketPath === undefined ? {} : { socketPath: options.socketPath }),
    ...(options.home === undefined ? {} : { home: options.home }),
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    readOnly: options.readOnly === true,
  });
  try {
    if (listen === undefined) {
      options.note(
        `pilot MCP tools on stdio (daemon socket ${host.node.socketPath}${host.readOnly ? ', read-only' : ''})`,
      );
      await serveToolsStdio(host, { input: options.input, output: options.output, signal: options.signal });
      return;
    }
    const http = await serveToolsHttp(host, listen);
    if (!['127.0.0.1', '::1', 'localhost'].includes(listen.host))
      options.note(
        `warning: ${listen.host} is not loopback: anyone who reaches it drives this node's daemon`,
      );
    options.note(
      `pilot MCP tools at ${http.url} (daemon socket ${host.node.socketPath}${host.readOnly ? ', read-only' : ''}); Ctrl-C stops`,
    );
    await new Promise<void>((resolve) => {
      if (options.signal.aborted) resolve();
      options.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await http.close();
  } finally {
    await host.close();
  }
}
