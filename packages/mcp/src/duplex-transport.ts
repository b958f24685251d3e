import type { Duplex } from 'node:stream';
import { deserializeMessage, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, MessageExtraInfo } from '@modelcontextprotocol/sdk/types.js';
import { describeError, McpErrorCode, mcpError } from './errors.js';
import { LineSplitter } from './line-splitter.js';

export interface DuplexTransportOptions {
  /** Longest line accepted from the peer, in bytes (default 10 MiB, as the SDK's stdio transport). */
  readonly maxMessageSize?: number;
  /**
   * After `close()` ends our side, how long to wait for the peer to end its side before the stream
   * is destroyed (default 5000 ms), so a peer that never answers the FIN cannot keep it open.
   */
  readonly lingerMs?: number;
}

const DEFAULT_MAX_MESSAGE_SIZE = 10 * 1024 * 1024;
const DEFAULT_LINGER_MS = 5000;

/**
 * An MCP SDK `Transport` over any Node `Duplex` (a Pilot stream, a TCP socket, a pipe): JSON-RPC
 * messages as newline-delimited JSON, byte-compatible with the SDK's stdio transport, so whatever
 * speaks MCP over stdio speaks it over this.
 */
export class DuplexTransport implements Transport {
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: (<T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => void) | undefined;
  sessionId?: string | undefined;

  private readonly stream: Duplex;
  /**
   * Not the SDK's ReadBuffer: it joins every chunk onto everything buffered and searches it all for
   * a newline again, so a 64 KiB result arriving in n pieces cost O(n²) copying and garbage (50
   * parallel calls: megabytes per round). The splitter keeps the pieces and joins a line once.
   */
  private splitter: LineSplitter;
  private readonly maxMessageSize: number;
  private readonly lingerMs: number;
  private started = false;
  private closed = false;
  private readonly drainWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];

  constructor(stream: Duplex, options: DuplexTransportOptions = {}) {
    this.stream = stream;
    this.maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    this.splitter = new LineSplitter(this.maxMessageSize);
    this.lingerMs = options.lingerMs ?? DEFAULT_LINGER_MS;
  }

  /** True once the transport closed (locally or because the stream ended). */
  get isClosed(): boolean {
    return this.closed;
  }

  async start(): Promise<void> {
    if (this.started) throw mcpError(McpErrorCode.ALREADY_STARTED, 'DuplexTransport already started');
    if (this.closed || this.stream.destroyed) throw mcpError(McpErrorCode.CLOSED, 'stream already closed');
    this.started = true;
    this.stream.on('data', this.onData);
    this.stream.on('end', this.onEnd);
    this.stream.on('error', this.onStreamError);
    this.stream.on('close', this.onStreamClose);
  }

  send(message: JSONRPCMessage): Promise<void> {
    if (this.closed || this.stream.destroyed || this.stream.writableEnded) {
      return Promise.reject(mcpError(McpErrorCode.CLOSED, 'cannot send: transport closed'));
    }
    const line = serializeMessage(message);
    return new Promise<void>((resolve, reject) => {
      if (this.stream.write(line)) {
        resolve();
        return;
      }
      // Back-pressure: the SDK awaits send(), so waiting for 'drain' slows the producer down.
      // One pair of listeners serves every waiting send (the SDK sends concurrently).
      this.drainWaiters.push({ resolve, reject });
      if (this.drainWaiters.length === 1) {
        this.stream.once('drain', this.onDrain);
        this.stream.once('close', this.onDrain);
      }
    });
  }

  private readonly onDrain = (): void => {
    this.stream.off('drain', this.onDrain);
    this.stream.off('close', this.onDrain);
    const closed = this.stream.destroyed;
    for (const waiter of this.drainWaiters.splice(0)) {
      if (closed)
        waiter.reject(mcpError(McpErrorCode.CLOSED, 'stream closed before the message was flushed'));
      else waiter.resolve();
    }
  };

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stream.off('data', this.onData);
    this.splitter = new LineSplitter(this.maxMessageSize);
    if (!this.stream.destroyed) {
      // end() flushes what is queued; keep reading (and discarding) so the peer's FIN arrives and the
      // stream closes by itself; a peer that never ends its side is cut off after lingerMs.
      this.stream.end();
      this.stream.resume();
      const linger = setTimeout(() => this.stream.destroy(), this.lingerMs);
      this.stream.once('close', () => clearTimeout(linger));
    }
    this.onclose?.();
  }

  private readonly onData = (chunk: Buffer | string): void => {
    let lines: string[];
    try {
      lines = this.splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    } catch (error) {
      // A line beyond the limit: the framing is lost, so the session cannot continue.
      this.onerror?.(mcpError(McpErrorCode.BAD_MESSAGE, describeError(error), error));
      void this.close();
      return;
    }
    for (const line of lines) {
      let message: JSONRPCMessage;
      try {
        message = deserializeMessage(line);
      } catch (error) {
        // A bad line: report it and go on with the next one.
        this.onerror?.(
          mcpError(McpErrorCode.BAD_MESSAGE, `malformed JSON-RPC line: ${describeError(error)}`, error),
        );
        continue;
      }
      this.onmessage?.(message);
      if (this.closed) break;
    }
  };

  private readonly onEnd = (): void => {
    void this.close();
  };

  private readonly onStreamError = (error: Error): void => {
    this.onerror?.(error);
  };

  private readonly onStreamClose = (): void => {
    this.stream.off('end', this.onEnd);
    this.stream.off('error', this.onStreamError);
    this.stream.off('close', this.onStreamClose);
    void this.close();
  };
}
