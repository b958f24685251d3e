import { isPilotError } from '@pilot/wire';

/**
 * The stable codes a tool error carries (pilotctl's codes, so an agent that knows one knows the
 * other), each with what to do about it.
 */
export const TOOL_ERROR_HINTS = {
  invalid_argument: 'check the arguments against the tool input schema',
  not_running:
    'start the daemon ("pilotctl daemon start --registry host:port") or point --socket at a running one',
  not_found: 'check the name with pilot_find; a private node is only found by the nodes it trusts',
  not_trusted:
    "ask for trust with pilot_handshake {peer, justification}; the peer's operator approves it (they see it in pilot_pending), then retry",
  timeout: 'the peer may be offline or slow; retry, or check it with pilot_ping',
  connection_failed: 'the peer could not be reached; check it with pilot_ping and pilot_peers',
  unavailable: 'the registry (pilot-rendezvous) cannot be reached',
  already_exists: 'the name or port is taken',
  too_large: 'send less: the tool server caps payloads (see --max-payload / --max-file)',
  read_only: 'the tool server runs with --read-only',
  io_error: 'check the path and its permissions',
  internal: 'an unexpected failure; the daemon log (<PILOT_HOME>/pilot.log) may say more',
} as const;

export type ToolErrorCode = keyof typeof TOOL_ERROR_HINTS;

/** A failure a tool reports as its result (isError), never as a protocol error. */
export class ToolFailure extends Error {
  readonly code: ToolErrorCode;
  /** The PilotError code underneath (DAEMON_NOT_TRUSTED, DIR_NOT_FOUND…), when there is one. */
  readonly pilotCode: string | undefined;
  readonly hint: string;

  constructor(code: ToolErrorCode, message: string, options: { pilotCode?: string; hint?: string } = {}) {
    super(message);
    this.name = 'ToolFailure';
    this.code = code;
    this.pilotCode = options.pilotCode;
    this.hint = options.hint ?? TOOL_ERROR_HINTS[code];
  }
}

const BY_PILOT_CODE: Readonly<Record<string, ToolErrorCode>> = {
  DAEMON_INVALID_ARGUMENT: 'invalid_argument',
  DAEMON_NOT_FOUND: 'not_found',
  DAEMON_CONNECTION_FAILED: 'connection_failed',
  DAEMON_TIMEOUT: 'timeout',
  DAEMON_ALREADY_EXISTS: 'already_exists',
  DAEMON_NOT_TRUSTED: 'not_trusted',
  DAEMON_UNAVAILABLE: 'unavailable',
  DAEMON_INTERNAL: 'internal',
  DRIVER_NOT_RUNNING: 'not_running',
  DRIVER_DISCONNECTED: 'not_running',
  DRIVER_TIMEOUT: 'timeout',
  DRIVER_BAD_ARGUMENT: 'invalid_argument',
  DRIVER_BAD_REPLY: 'internal',
  // Someone else's socket at the daemon's path: not ours to talk to.
  DRIVER_UNTRUSTED_SOCKET: 'io_error',
  DIR_NOT_FOUND: 'not_found',
  DIR_RESOLVE_DENIED: 'not_trusted',
  DIR_FORBIDDEN: 'not_trusted',
  DIR_HOSTNAME_TAKEN: 'already_exists',
  DIR_TIMEOUT: 'timeout',
  DIR_CONNECTION: 'unavailable',
  DIR_RATE_LIMITED: 'unavailable',
  DIR_BAD_REQUEST: 'invalid_argument',
  DIR_TAG_INVALID: 'invalid_argument',
  DIR_TOO_MANY_TAGS: 'invalid_argument',
  MCP_BAD_MESSAGE: 'connection_failed',
  MCP_CLOSED: 'connection_failed',
};

/** The reference daemon sends most errors with one code: read what the text says. */
function fromText(message: string): ToolErrorCode | undefined {
  const text = message.toLowerCase();
  if (/not trusted|denied|untrusted/.test(text)) return 'not_trusted';
  if (/not found|unknown host|no such|not registered/.test(text)) return 'not_found';
  if (/timed? ?out|deadline/.test(text)) return 'timeout';
  if (/unreachable|no route|refused|no tunnel/.test(text)) return 'connection_failed';
  return undefined;
}

/** Any thrown value as the ToolFailure a tool reports. */
export function toToolFailure(error: unknown): ToolFailure {
  if (error instanceof ToolFailure) return error;
  if (isPilotError(error)) {
    let code = BY_PILOT_CODE[error.code];
    if (code === undefined || code === 'internal') code = fromText(error.message) ?? code;
    if (code === undefined && error.code.startsWith('WIRE_')) code = 'invalid_argument';
    return new ToolFailure(code ?? 'internal', error.message, { pilotCode: error.code });
  }
  const errno = (error as NodeJS.ErrnoException | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (errno === 'ENOENT') return new ToolFailure('not_found', message, { pilotCode: errno });
  if (typeof errno === 'string' && /^E[A-Z]+$/.test(errno))
    return new ToolFailure('io_error', message, { pilotCode: errno });
  return new ToolFailure('internal', message);
}

/** The JSON an error result carries as its text: what an agent reads to decide what next. */
export function failureJson(failure: ToolFailure): Record<string, string> {
  return {
    error: failure.code,
    message: failure.message,
    hint: failure.hint,
    ...(failure.pilotCode === undefined ? {} : { pilot_code: failure.pilotCode }),
  };
}
