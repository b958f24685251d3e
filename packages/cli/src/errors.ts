import { type ErrorKind, errorKind } from '@pilot/daemon/driver';
import { isPilotError, PilotError } from '@pilot/wire';

/**
 * The error codes pilotctl prints (reference §10.1, those we use): the driver's `ErrorKind`, which
 * the MCP tools report too. Stable: scripts match on them.
 */
export type CliErrorCode = ErrorKind;

export const CLI_ERROR_CODES: Readonly<Record<CliErrorCode, string>> = {
  invalid_argument: 'a command, flag or argument is wrong (exit 2 when it is the usage itself)',
  not_running: 'no daemon answers at the socket',
  not_found: 'an unknown host, node, connection or file',
  not_trusted: 'the peer has not approved a trust handshake with this node',
  timeout: 'the operation did not finish in time',
  connection_failed: 'the peer could not be reached',
  unavailable: 'the registry (or another service) cannot be reached',
  already_exists: 'the port, daemon or name is already taken',
  io_error: 'a local file or socket could not be read or written',
  auth_required:
    'the registry refused the signature or token of this node (another identity, a clock out of step, a replay)',
  internal: 'an unexpected failure (a bug; the message says more)',
};

/** A pilotctl failure: a PilotError whose code is `CLI_<CODE>`, with a hint and the exit status. */
export class CliError extends PilotError {
  readonly cliCode: CliErrorCode;
  readonly hint: string | undefined;
  /** 2 for usage errors, else 1. */
  readonly exitCode: number;
  /** Print nothing without --json (`daemon status --check`): the exit status says it all. */
  readonly quiet: boolean;

  constructor(
    cliCode: CliErrorCode,
    message: string,
    options: { hint?: string; usage?: boolean; quiet?: boolean; cause?: unknown } = {},
  ) {
    super(
      `CLI_${cliCode.toUpperCase()}`,
      message,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'CliError';
    this.cliCode = cliCode;
    this.hint = options.hint;
    this.exitCode = options.usage === true ? 2 : 1;
    this.quiet = options.quiet === true;
  }
}

export function cliError(code: CliErrorCode, message: string, hint?: string): CliError {
  return hint === undefined ? new CliError(code, message) : new CliError(code, message, { hint });
}

export function usageError(message: string, hint?: string): CliError {
  return new CliError('invalid_argument', message, {
    usage: true,
    hint: hint ?? 'run "pilotctl help" or "pilotctl context" for the commands and their arguments',
  });
}

const HINTS: Partial<Record<CliErrorCode, string>> = {
  not_running:
    'start a daemon with "pilotctl daemon start --registry host:port", or point --socket / PILOT_SOCKET at a running one',
  not_trusted:
    'ask for trust with "pilotctl handshake <node> "reason"" and have the peer run "pilotctl approve <your node>"',
  not_found:
    'check the name with "pilotctl find <hostname>"; private nodes are only found by nodes they trust',
  connection_failed:
    'the peer may be offline or unreachable; check it with "pilotctl ping <peer>" and "pilotctl peers"',
  timeout: 'retry, or give more time with --timeout (e.g. --timeout 60s)',
  unavailable: 'check that the rendezvous (pilot-rendezvous) runs and that --registry points at it',
  already_exists: 'pick another port or name, or stop what holds it',
  io_error: 'check the path and its permissions',
  auth_required:
    'check that the daemon runs with the identity this node registered with (<PILOT_HOME>/identity.json), that the clock is right, and the network token',
  internal: 'this is a bug; the daemon log (<PILOT_HOME>/pilot.log) may say more',
};

const IO_ERRNOS = new Set([
  'ENOENT',
  'EACCES',
  'EPERM',
  'EISDIR',
  'ENOTDIR',
  'EEXIST',
  'ENOSPC',
  'EROFS',
  'EMFILE',
]);

const REMOTE_HINT =
  'the registry (another implementation, such as the reference) refused without saying why; its own log may say more';

/** Any failure as the CliError pilotctl reports. */
export function toCliError(error: unknown): CliError {
  if (error instanceof CliError) return error;
  if (isPilotError(error)) {
    // The kind of failure, by the driver's table (the MCP tools report by the same one).
    const code = errorKind(error) ?? 'internal';
    // A registry of another implementation (the reference hides every error behind "request
    // failed") refused: not a bug of ours, and nothing more to say than where to look.
    const remote = error.code === 'DIR_REMOTE' || error.message.includes('[DIR_REMOTE]');
    const hint = remote ? REMOTE_HINT : HINTS[code];
    return new CliError(code, error.message, hint === undefined ? { cause: error } : { hint, cause: error });
  }
  const errno = (error as NodeJS.ErrnoException | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof errno === 'string' && IO_ERRNOS.has(errno)) {
    return new CliError(errno === 'ENOENT' ? 'not_found' : 'io_error', message, {
      hint: HINTS.io_error ?? '',
      cause: error,
    });
  }
  if (errno === 'ECONNREFUSED' || errno === 'EHOSTUNREACH' || errno === 'ECONNRESET') {
    return new CliError('unavailable', message, { hint: HINTS.unavailable ?? '', cause: error });
  }
  return new CliError('internal', message, { hint: HINTS.internal ?? '', cause: error });
}

/** A hint for a code, for commands that build their own errors. */
export function hintFor(code: CliErrorCode): string | undefined {
  return HINTS[code];
}
