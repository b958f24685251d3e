import { isPilotError, PilotError } from '@pilot/wire';

/** The daemon's error codes. Values are part of the public API: never rename one. */
export const DaemonErrorCode = {
  /** A flag, config key or value is wrong. */
  BAD_OPTION: 'DAEMON_BAD_OPTION',
  /** Another daemon is listening on the IPC socket. */
  SOCKET_IN_USE: 'DAEMON_SOCKET_IN_USE',
  /** The registry cannot be reached (at start, or for an operation that needs it). */
  REGISTRY_UNAVAILABLE: 'DAEMON_REGISTRY_UNAVAILABLE',
  /** The identity file exists but cannot be read. */
  BAD_IDENTITY: 'DAEMON_BAD_IDENTITY',
  /** An IPC request is malformed or names something that does not exist (a connection ID). */
  INVALID_ARGUMENT: 'DAEMON_INVALID_ARGUMENT',
  /** Unknown host or node. */
  NOT_FOUND: 'DAEMON_NOT_FOUND',
  /** The peer cannot be reached: no tunnel, no answer, refused. */
  CONNECTION_FAILED: 'DAEMON_CONNECTION_FAILED',
  TIMEOUT: 'DAEMON_TIMEOUT',
  /** A port is bound already, a request exists already. */
  ALREADY_EXISTS: 'DAEMON_ALREADY_EXISTS',
  /** The peer is private and does not trust us. */
  NOT_TRUSTED: 'DAEMON_NOT_TRUSTED',
  /** The daemon is shutting down. */
  CLOSED: 'DAEMON_CLOSED',
  INTERNAL: 'DAEMON_INTERNAL',
  /** A budget against floods was spent (budgets.ts): the work was refused, not queued. */
  BUDGET_SPENT: 'DAEMON_BUDGET_SPENT',
  /**
   * The registry named a peer endpoint we do not send to: not an IP literal with a port, or our own
   * host (loopback, unspecified) while the registry is not on it (registry-endpoint.ts).
   */
  REGISTRY_BAD_ENDPOINT: 'DAEMON_REGISTRY_BAD_ENDPOINT',
} as const;

export type DaemonErrorCode = (typeof DaemonErrorCode)[keyof typeof DaemonErrorCode];

export function daemonError(code: DaemonErrorCode, message: string, cause?: unknown): PilotError {
  return new PilotError(code, message, cause === undefined ? undefined : { cause });
}

/**
 * The u16 codes of IPC Error (0x0A). The reference always sends 1; ours tell a driver what happened
 * (see the contract's table), and a reference driver just shows the message.
 */
export const IpcErrorCode = {
  INTERNAL: 1,
  INVALID_ARGUMENT: 2,
  NOT_FOUND: 3,
  CONNECTION_FAILED: 4,
  TIMEOUT: 5,
  ALREADY_EXISTS: 6,
  NOT_TRUSTED: 7,
  UNAVAILABLE: 8,
} as const;

export type IpcErrorCode = (typeof IpcErrorCode)[keyof typeof IpcErrorCode];

const byCode: Readonly<Record<string, IpcErrorCode>> = {
  DAEMON_BAD_OPTION: IpcErrorCode.INVALID_ARGUMENT,
  DAEMON_INVALID_ARGUMENT: IpcErrorCode.INVALID_ARGUMENT,
  DAEMON_NOT_FOUND: IpcErrorCode.NOT_FOUND,
  DAEMON_CONNECTION_FAILED: IpcErrorCode.CONNECTION_FAILED,
  DAEMON_TIMEOUT: IpcErrorCode.TIMEOUT,
  DAEMON_ALREADY_EXISTS: IpcErrorCode.ALREADY_EXISTS,
  DAEMON_NOT_TRUSTED: IpcErrorCode.NOT_TRUSTED,
  DAEMON_REGISTRY_UNAVAILABLE: IpcErrorCode.UNAVAILABLE,
  DIR_NOT_FOUND: IpcErrorCode.NOT_FOUND,
  DIR_RESOLVE_DENIED: IpcErrorCode.NOT_TRUSTED,
  DIR_FORBIDDEN: IpcErrorCode.NOT_TRUSTED,
  DIR_ALREADY: IpcErrorCode.ALREADY_EXISTS,
  DIR_HOSTNAME_TAKEN: IpcErrorCode.ALREADY_EXISTS,
  DIR_BAD_REQUEST: IpcErrorCode.INVALID_ARGUMENT,
  DIR_HOSTNAME_INVALID: IpcErrorCode.INVALID_ARGUMENT,
  DIR_HOSTNAME_RESERVED: IpcErrorCode.INVALID_ARGUMENT,
  DIR_TAG_INVALID: IpcErrorCode.INVALID_ARGUMENT,
  DIR_TOO_MANY_TAGS: IpcErrorCode.INVALID_ARGUMENT,
  DIR_TIMEOUT: IpcErrorCode.UNAVAILABLE,
  DIR_CONNECTION: IpcErrorCode.UNAVAILABLE,
  TRANSPORT_CONNECTION_REFUSED: IpcErrorCode.CONNECTION_FAILED,
  TRANSPORT_CONNECTION_RESET: IpcErrorCode.CONNECTION_FAILED,
  TRANSPORT_CONNECT_TIMEOUT: IpcErrorCode.TIMEOUT,
  TRANSPORT_PEER_DEAD: IpcErrorCode.CONNECTION_FAILED,
  TRANSPORT_NO_ROUTE: IpcErrorCode.CONNECTION_FAILED,
  TRANSPORT_PORT_IN_USE: IpcErrorCode.ALREADY_EXISTS,
  TRANSPORT_BAD_ARGUMENT: IpcErrorCode.INVALID_ARGUMENT,
};

/** The IPC error code for a failure; tunnel codes are matched by their suffix. */
export function ipcErrorCode(error: unknown): IpcErrorCode {
  if (!isPilotError(error)) return IpcErrorCode.INTERNAL;
  const direct = byCode[error.code];
  if (direct !== undefined) return direct;
  if (error.code.startsWith('WIRE_')) return IpcErrorCode.INVALID_ARGUMENT;
  if (error.code.startsWith('TUNNEL_')) {
    if (error.code.includes('TIMEOUT')) return IpcErrorCode.TIMEOUT;
    if (error.code.includes('DENIED') || error.code.includes('TRUST')) return IpcErrorCode.NOT_TRUSTED;
    if (error.code.includes('NOT_FOUND') || error.code.includes('UNKNOWN')) return IpcErrorCode.NOT_FOUND;
    return IpcErrorCode.CONNECTION_FAILED;
  }
  return IpcErrorCode.INTERNAL;
}

/** The message of any thrown value, for logs and IPC errors. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return isPilotError(error) ? `${error.message} [${error.code}]` : error.message;
  return String(error);
}
