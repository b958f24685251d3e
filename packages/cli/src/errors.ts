import { isPilotError, PilotError } from '@pilot/wire';

/** The error codes pilotctl prints (reference §10.1, those we use). Stable: scripts match on them. */
export const CLI_ERROR_CODES = {
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
} as const;

export type CliErrorCode = keyof typeof CLI_ERROR_CODES;

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

const DAEMON_CODES: Readonly<Record<string, CliErrorCode>> = {
  DAEMON_INTERNAL: 'internal',
  DAEMON_INVALID_ARGUMENT: 'invalid_argument',
  DAEMON_NOT_FOUND: 'not_found',
  DAEMON_CONNECTION_FAILED: 'connection_failed',
  DAEMON_TIMEOUT: 'timeout',
  DAEMON_ALREADY_EXISTS: 'already_exists',
  DAEMON_NOT_TRUSTED: 'not_trusted',
  DAEMON_UNAVAILABLE: 'unavailable',
  DAEMON_BAD_OPTION: 'invalid_argument',
  DAEMON_REGISTRY_UNAVAILABLE: 'unavailable',
  DAEMON_BUDGET_SPENT: 'unavailable',
  DAEMON_CLOSED: 'not_running',
  DAEMON_REGISTRY_BAD_ENDPOINT: 'connection_failed',
  DRIVER_NOT_RUNNING: 'not_running',
  DRIVER_DISCONNECTED: 'not_running',
  DRIVER_TIMEOUT: 'timeout',
  DRIVER_BAD_ARGUMENT: 'invalid_argument',
  DRIVER_BAD_REPLY: 'internal',
  // Someone else's socket at the daemon's path: not ours to talk to.
  DRIVER_UNTRUSTED_SOCKET: 'io_error',
  DIR_NOT_FOUND: 'not_found',
  DIR_RESOLVE_DENIED: 'not_trusted',
  DIR_HOSTNAME_TAKEN: 'already_exists',
  DIR_ALREADY: 'already_exists',
  DIR_KEY_IN_USE: 'already_exists',
  DIR_TIMEOUT: 'timeout',
  DIR_CONNECTION: 'unavailable',
  DIR_PIN_MISMATCH: 'connection_failed',
  DIR_RATE_LIMITED: 'unavailable',
  DIR_HOSTNAME_INVALID: 'invalid_argument',
  DIR_HOSTNAME_RESERVED: 'invalid_argument',
  DIR_TAG_INVALID: 'invalid_argument',
  DIR_TOO_MANY_TAGS: 'invalid_argument',
  DIR_BAD_REQUEST: 'invalid_argument',
  DIR_TOO_LARGE: 'invalid_argument',
  // The registry refused who we are (reference code auth_required), not a bug of ours.
  DIR_BAD_SIGNATURE: 'auth_required',
  DIR_SIGNATURE_REQUIRED: 'auth_required',
  DIR_STALE_SIGNATURE: 'auth_required',
  DIR_REPLAYED: 'auth_required',
  DIR_FRESHNESS_REQUIRED: 'auth_required',
  DIR_BAD_TOKEN: 'auth_required',
  // As the daemon's IPC says it (NOT_TRUSTED): not a member, not a participant, admin only.
  DIR_FORBIDDEN: 'not_trusted',
};

/**
 * Our daemon names the code of what failed at the end of an IPC Error's text (`… [DIR_BAD_SIGNATURE]`),
 * and the IPC code is INTERNAL (1) for codes the IPC has no number for: that named code decides.
 */
function namedCode(message: string): string | undefined {
  const match = /\[([A-Z][A-Z0-9]*_[A-Z0-9_]+)\]\s*$/.exec(message);
  return match === null || match[1] === 'DAEMON_INTERNAL' ? undefined : match[1];
}

function cliCodeOf(code: string, message: string): CliErrorCode {
  let cli: CliErrorCode | undefined = DAEMON_CODES[code];
  if (cli === 'internal' && code === 'DAEMON_INTERNAL') {
    const named = namedCode(message);
    cli = named === undefined ? (fromMessage(message) ?? cli) : cliCodeOf(named, message);
  }
  if (cli === undefined && code.startsWith('WIRE_')) cli = 'invalid_argument';
  if (cli === undefined && code.startsWith('DIR_')) cli = fromMessage(message) ?? 'unavailable';
  return cli ?? fromMessage(message) ?? 'internal';
}

/** The reference daemon sends every error as code 1: read what its text says. */
function fromMessage(message: string): CliErrorCode | undefined {
  const text = message.toLowerCase();
  if (/not trusted|denied|untrusted/.test(text)) return 'not_trusted';
  if (/not found|unknown host|no such/.test(text)) return 'not_found';
  if (/timed? ?out|deadline/.test(text)) return 'timeout';
  if (/unreachable|no route|refused|no tunnel/.test(text)) return 'connection_failed';
  if (/in use|already/.test(text)) return 'already_exists';
  return undefined;
}

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
    const code = cliCodeOf(error.code, error.message);
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
