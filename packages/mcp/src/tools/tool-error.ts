import { type ErrorKind, errorKind, underlyingCode } from '@pilot/daemon/driver';
import { isPilotError } from '@pilot/wire';

/**
 * The stable codes a tool error carries (pilotctl's codes, so an agent that knows one knows the
 * other; the driver's `errorKind` decides them for both), each with what to do about it.
 */
export type ToolErrorCode = ErrorKind | 'too_large' | 'read_only';

export const TOOL_ERROR_HINTS: Readonly<Record<ToolErrorCode, string>> = {
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
  auth_required:
    "the registry refused this node's signature or token: check that the daemon runs with the identity the node registered with (<PILOT_HOME>/identity.json), that the clock is right, and the network token",
  internal: 'an unexpected failure; the daemon log (<PILOT_HOME>/pilot.log) may say more',
};

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

/** The tool server's own codes; everything else is the driver's `errorKind`, as pilotctl reads it. */
const MCP_CODES: Readonly<Record<string, ToolErrorCode>> = {
  MCP_BAD_MESSAGE: 'connection_failed',
  MCP_CLOSED: 'connection_failed',
};

/** Any thrown value as the ToolFailure a tool reports. */
export function toToolFailure(error: unknown): ToolFailure {
  if (error instanceof ToolFailure) return error;
  if (isPilotError(error)) {
    const code = MCP_CODES[error.code] ?? errorKind(error) ?? 'internal';
    // The code underneath: what our daemon named behind its IPC code 1 (`DIR_BAD_SIGNATURE`…).
    return new ToolFailure(code, error.message, { pilotCode: underlyingCode(error) });
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
