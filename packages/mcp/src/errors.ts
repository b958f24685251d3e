import { PilotError } from '@pilot/wire';

/** The MCP package's error codes. Values are part of the public API: never rename. */
export const McpErrorCode = {
  /** A line from the peer is not a JSON-RPC message, or a line grew beyond the buffer limit. */
  BAD_MESSAGE: 'MCP_BAD_MESSAGE',
  /** The transport or session was used after it closed. */
  CLOSED: 'MCP_CLOSED',
  /** `start()` was called twice on one transport. */
  ALREADY_STARTED: 'MCP_ALREADY_STARTED',
  /** The stdio MCP server command could not be started. */
  SPAWN_FAILED: 'MCP_SPAWN_FAILED',
  /** Dialing the remote MCP endpoint failed (the cause says why: untrusted, unreachable…). */
  CONNECT_FAILED: 'MCP_CONNECT_FAILED',
  /** The virtual port could not be listened on. */
  LISTEN_FAILED: 'MCP_LISTEN_FAILED',
  /** An argument is out of range or of the wrong shape. */
  INVALID_ARGUMENT: 'MCP_INVALID_ARGUMENT',
} as const;

export type McpErrorCode = (typeof McpErrorCode)[keyof typeof McpErrorCode];

export function mcpError(code: McpErrorCode, message: string, cause?: unknown): PilotError {
  return new PilotError(code, message, cause === undefined ? undefined : { cause });
}

/** Message of an unknown thrown value, for logs and wrapped errors. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && !error.message.includes(code)
      ? `${code}: ${error.message}`
      : error.message;
  }
  return String(error);
}
