import type { Duplex, Readable, Writable } from 'node:stream';
import { describeError, McpErrorCode, mcpError } from './errors.js';
import { type McpLog, silentLog } from './log.js';
import { DEFAULT_MCP_PORT, type StreamDialer } from './stream-interfaces.js';

export interface McpConnectOptions {
  readonly dialer: StreamDialer;
  /** Virtual address or hostname of the node serving MCP. */
  readonly address: string;
  readonly port?: number;
  /** What the local MCP client writes (e.g. `process.stdin`). */
  readonly input: Readable;
  /** Where the local MCP client reads (e.g. `process.stdout`). */
  readonly output: Writable;
  /** End `output` when the remote side ends (default true). */
  readonly endOutput?: boolean;
  /** After `input` ends, how long to wait for the remote to finish before the stream is destroyed (default 5000 ms). */
  readonly lingerMs?: number;
  readonly signal?: AbortSignal;
  readonly log?: McpLog;
}

/**
 * A local stdio MCP endpoint piped to a remote MCP session: bytes flow both ways untouched.
 * Resolves when the session is over (either side ended); rejects with MCP_CONNECT_FAILED when the
 * dial fails, or MCP_CLOSED when the stream breaks.
 */
export async function connectMcp(options: McpConnectOptions): Promise<void> {
  const port = options.port ?? DEFAULT_MCP_PORT;
  const log = options.log ?? silentLog;
  const { input, output } = options;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw mcpError(McpErrorCode.INVALID_ARGUMENT, `port must be an integer in 1..65535, got ${String(port)}`);
  }
  options.signal?.throwIfAborted();
  let stream: Duplex;
  try {
    stream = await options.dialer.dial(options.address, port);
  } catch (error) {
    throw mcpError(
      McpErrorCode.CONNECT_FAILED,
      `cannot reach MCP on ${options.address}:${port}: ${describeError(error)}`,
      error,
    );
  }
  log('info', 'mcp connected', { address: options.address, port });
  return new Promise<void>((resolve, reject) => {
    let linger: NodeJS.Timeout | undefined;
    let failure: Error | undefined;
    // 'close' too: an input destroyed without 'end' (e.g. by a composed Duplex) must still end the session.
    const onInputEnd = (): void => {
      if (linger !== undefined) return;
      if (!stream.writableEnded) stream.end();
      linger = setTimeout(() => stream.destroy(), options.lingerMs ?? 5000);
    };
    const onAbort = (): void => {
      stream.destroy();
    };
    const onError = (error: Error): void => {
      failure = error;
    };
    // A local side that breaks (stdout closed by the client, EPIPE) ends the session too. These stay
    // attached after the session: a late EPIPE on the caller's stdout must not become an uncaught error.
    const onLocalError = (error: Error): void => {
      failure ??= error;
      stream.destroy();
    };
    input.on('error', onLocalError);
    output.on('error', onLocalError);
    input.once('end', onInputEnd);
    input.once('close', onInputEnd);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    stream.on('error', onError);
    input.pipe(stream);
    stream.pipe(output, { end: options.endOutput ?? true });
    stream.once('close', () => {
      if (linger !== undefined) clearTimeout(linger);
      input.off('end', onInputEnd);
      input.off('close', onInputEnd);
      input.unpipe(stream);
      options.signal?.removeEventListener('abort', onAbort);
      log('info', 'mcp disconnected', { address: options.address, port });
      if (failure !== undefined && options.signal?.aborted !== true) {
        reject(mcpError(McpErrorCode.CLOSED, `MCP session broke: ${describeError(failure)}`, failure));
      } else {
        resolve();
      }
    });
  });
}
