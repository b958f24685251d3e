/**
 * What kind of failure an error from the daemon, the driver or the registry is, in pilotctl's words
 * (reference §10.1): pilotctl prints these codes and the MCP tools report them, so that a script or an
 * agent that knows one knows the other. One table for both, here beside the errors it reads. Stable:
 * scripts and agents match on them; never rename one.
 */
export type ErrorKind =
  | 'invalid_argument'
  | 'not_running'
  | 'not_found'
  | 'not_trusted'
  | 'timeout'
  | 'connection_failed'
  | 'unavailable'
  | 'already_exists'
  | 'io_error'
  | 'auth_required'
  | 'internal';

const BY_CODE: Readonly<Record<string, ErrorKind>> = {
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
  DIR_BAD_ENDPOINT: 'invalid_argument',
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
 * The code our daemon names at the end of an IPC Error's text (`… [DIR_BAD_SIGNATURE]`): it sends
 * every code the IPC has no number for as INTERNAL (1), so that named code says what failed.
 */
function namedCode(message: string): string | undefined {
  const match = /\[([A-Z][A-Z0-9]*_[A-Z0-9_]+)\]\s*$/.exec(message);
  return match === null || match[1] === 'DAEMON_INTERNAL' ? undefined : match[1];
}

/**
 * The code of what failed: for a `DAEMON_INTERNAL` error, the code our daemon named at the end of
 * its text, when it named one (`DIR_BAD_SIGNATURE`, `DAEMON_BUDGET_SPENT`…); else the error's own.
 */
export function underlyingCode(error: { readonly code: string; readonly message: string }): string {
  return (error.code === 'DAEMON_INTERNAL' ? namedCode(error.message) : undefined) ?? error.code;
}

/** The reference daemon sends every error as code 1, without a named code: read what its text says. */
function fromText(message: string): ErrorKind | undefined {
  const text = message.toLowerCase();
  if (/not trusted|denied|untrusted/.test(text)) return 'not_trusted';
  if (/not found|unknown host|no such|not registered/.test(text)) return 'not_found';
  if (/timed? ?out|deadline/.test(text)) return 'timeout';
  if (/unreachable|no route|refused|no tunnel/.test(text)) return 'connection_failed';
  if (/in use|already/.test(text)) return 'already_exists';
  return undefined;
}

/**
 * The kind of a PilotError from the daemon (ours names the underlying code, the reference's text is
 * read), the driver, the registry client or the wire codecs. `undefined` for a code of another
 * layer (a caller's own codes, an errno) that says nothing in its text either.
 */
export function errorKind(error: { readonly code: string; readonly message: string }): ErrorKind | undefined {
  const code = underlyingCode(error);
  const kind = BY_CODE[code];
  if (code === 'DAEMON_INTERNAL') return fromText(error.message) ?? kind;
  if (kind !== undefined) return kind;
  if (code.startsWith('WIRE_')) return 'invalid_argument';
  // A registry refusal this table does not name (a store failure, another implementation's bare
  // "request failed"): the registry's side, not a bug of ours.
  if (code.startsWith('DIR_')) return fromText(error.message) ?? 'unavailable';
  return fromText(error.message);
}
