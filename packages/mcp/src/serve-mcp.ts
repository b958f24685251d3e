import type { Duplex } from 'node:stream';
import { type Address, formatAddress } from '@pilot/wire';
import { describeError, McpErrorCode, mcpError } from './errors.js';
import { type McpLog, silentLog } from './log.js';
import { ProcessPerSession } from './process-per-session.js';
import type { ServerCommand } from './server-process.js';
import type { SessionHost } from './session-host.js';
import { SharedProcess } from './shared-process.js';
import type { StreamAcceptor, StreamListener } from './stream-interfaces.js';

export interface McpServeOptions {
  /** Accepts streams on the port (the daemon's `Driver`; the daemon admits only trusted peers). */
  readonly listener: StreamListener;
  readonly port: number;
  /** The stdio MCP server to run, in any language. */
  readonly command: string;
  readonly args?: readonly string[];
  /**
   * false (default): one server process per session. true: one process for all sessions, with
   * JSON-RPC ids rewritten so that each session sees only its own answers.
   */
  readonly shared?: boolean;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Grace period before a server that did not exit on stdin EOF is killed (default 2000 ms). */
  readonly killGraceMs?: number;
  /** Session events and every line the server writes to stderr. */
  readonly log?: McpLog;
}

export interface McpServeHandle {
  readonly port: number;
  /** Sessions being served right now. */
  readonly sessions: number;
  /** Sessions accepted since the start. */
  readonly accepted: number;
  /** Stops accepting, ends every session and kills the server processes. */
  close(): Promise<void>;
}

function remoteOf(stream: Duplex): Record<string, unknown> {
  const { remoteAddress, remotePort } = stream as Duplex & { remoteAddress?: unknown; remotePort?: unknown };
  if (remoteAddress === undefined) return {};
  return {
    remote: isAddress(remoteAddress) ? formatAddress(remoteAddress) : String(remoteAddress),
    remotePort,
  };
}

function isAddress(value: unknown): value is Address {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Address).network === 'number' &&
    typeof (value as Address).node === 'number'
  );
}

class McpServer implements McpServeHandle {
  readonly port: number;
  accepted = 0;
  private readonly acceptor: StreamAcceptor;
  private readonly host: SessionHost;
  private readonly log: McpLog;
  private readonly active = new Set<Promise<void>>();
  private readonly loop: Promise<void>;
  private closing: Promise<void> | undefined;

  constructor(port: number, acceptor: StreamAcceptor, host: SessionHost, log: McpLog) {
    this.port = port;
    this.acceptor = acceptor;
    this.host = host;
    this.log = log;
    this.loop = this.acceptLoop();
  }

  get sessions(): number {
    return this.active.size;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.acceptor.close();
      await this.loop;
      await this.host.close();
      await Promise.all(this.active);
    })();
    return this.closing;
  }

  private async acceptLoop(): Promise<void> {
    try {
      for await (const stream of this.acceptor) {
        if (this.closing !== undefined) {
          stream.destroy();
          continue;
        }
        this.accepted += 1;
        const fields = { port: this.port, session: this.accepted, ...remoteOf(stream) };
        this.log('info', 'mcp session opened', fields);
        const session = this.host.serve(stream, fields).finally(() => {
          this.active.delete(session);
          this.log('info', 'mcp session closed', fields);
        });
        this.active.add(session);
      }
    } catch (error) {
      if (this.closing === undefined) {
        this.log('error', 'mcp listener failed', { port: this.port, error: describeError(error) });
      }
    }
  }
}

/**
 * Makes a stdio MCP server callable on a virtual port: every accepted stream is an MCP session,
 * served by its own server process (or by one shared process with `shared: true`).
 */
export async function serveMcp(options: McpServeOptions): Promise<McpServeHandle> {
  const { port, command } = options;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw mcpError(McpErrorCode.INVALID_ARGUMENT, `port must be an integer in 1..65535, got ${String(port)}`);
  }
  if (typeof command !== 'string' || command.length === 0) {
    throw mcpError(McpErrorCode.INVALID_ARGUMENT, 'command must be a non-empty string');
  }
  const log = options.log ?? silentLog;
  const spec: ServerCommand = {
    command,
    args: options.args,
    env: options.env,
    cwd: options.cwd,
    killGraceMs: options.killGraceMs,
  };
  let acceptor: StreamAcceptor;
  try {
    acceptor = await options.listener.listen(port);
  } catch (error) {
    throw mcpError(
      McpErrorCode.LISTEN_FAILED,
      `cannot listen on port ${port}: ${describeError(error)}`,
      error,
    );
  }
  try {
    await acceptor.ready;
  } catch (error) {
    await acceptor.close().catch(() => undefined);
    throw mcpError(
      McpErrorCode.LISTEN_FAILED,
      `cannot listen on port ${port}: ${describeError(error)}`,
      error,
    );
  }
  const host = options.shared === true ? new SharedProcess(spec, log) : new ProcessPerSession(spec, log);
  log('info', 'mcp serving', { port, command, shared: options.shared === true });
  return new McpServer(port, acceptor, host, log);
}
