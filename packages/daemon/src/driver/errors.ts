import { PilotError } from '@pilot/wire';

/** The driver's own error codes. Values are public API: never rename. */
export const DriverErrorCode = {
  /** Nobody listens at the IPC socket (no daemon, or a stale socket file). */
  NOT_RUNNING: 'DRIVER_NOT_RUNNING',
  /** The IPC connection to the daemon is gone (the daemon stopped, or `close()` was called). */
  DISCONNECTED: 'DRIVER_DISCONNECTED',
  /** The daemon sent something the driver cannot read (bad framing, bad JSON, unknown command). */
  BAD_REPLY: 'DRIVER_BAD_REPLY',
  /** A caller's argument cannot be sent (bad address, port out of range, …). */
  BAD_ARGUMENT: 'DRIVER_BAD_ARGUMENT',
  /** The caller's deadline passed before the daemon answered. */
  TIMEOUT: 'DRIVER_TIMEOUT',
  /** The socket belongs to another user: not talked to. */
  UNTRUSTED_SOCKET: 'DRIVER_UNTRUSTED_SOCKET',
} as const;

export type DriverErrorCode = (typeof DriverErrorCode)[keyof typeof DriverErrorCode];

export function driverError(code: DriverErrorCode, message: string, cause?: unknown): PilotError {
  return new PilotError(code, message, cause === undefined ? undefined : { cause });
}

/**
 * The u16 codes of IPC Error (0x0A) as our daemon uses them, and the PilotError code each becomes.
 * The reference daemon always sends 1, which reads as internal.
 */
export const DaemonReplyCode = {
  INTERNAL: 'DAEMON_INTERNAL',
  INVALID_ARGUMENT: 'DAEMON_INVALID_ARGUMENT',
  NOT_FOUND: 'DAEMON_NOT_FOUND',
  CONNECTION_FAILED: 'DAEMON_CONNECTION_FAILED',
  TIMEOUT: 'DAEMON_TIMEOUT',
  ALREADY_EXISTS: 'DAEMON_ALREADY_EXISTS',
  NOT_TRUSTED: 'DAEMON_NOT_TRUSTED',
  UNAVAILABLE: 'DAEMON_UNAVAILABLE',
} as const;

export type DaemonReplyCode = (typeof DaemonReplyCode)[keyof typeof DaemonReplyCode];

const BY_WIRE_CODE: Readonly<Record<number, DaemonReplyCode>> = {
  1: DaemonReplyCode.INTERNAL,
  2: DaemonReplyCode.INVALID_ARGUMENT,
  3: DaemonReplyCode.NOT_FOUND,
  4: DaemonReplyCode.CONNECTION_FAILED,
  5: DaemonReplyCode.TIMEOUT,
  6: DaemonReplyCode.ALREADY_EXISTS,
  7: DaemonReplyCode.NOT_TRUSTED,
  8: DaemonReplyCode.UNAVAILABLE,
};

/** The u16 code of each DAEMON_* code, for daemons (and fakes) that answer with an IPC Error. */
export const DAEMON_WIRE_CODES: Readonly<Record<DaemonReplyCode, number>> = {
  DAEMON_INTERNAL: 1,
  DAEMON_INVALID_ARGUMENT: 2,
  DAEMON_NOT_FOUND: 3,
  DAEMON_CONNECTION_FAILED: 4,
  DAEMON_TIMEOUT: 5,
  DAEMON_ALREADY_EXISTS: 6,
  DAEMON_NOT_TRUSTED: 7,
  DAEMON_UNAVAILABLE: 8,
};

/** The PilotError for an IPC Error message; unknown codes read as internal. */
export function daemonError(wireCode: number, message: string): PilotError {
  const code = Object.hasOwn(BY_WIRE_CODE, wireCode) ? BY_WIRE_CODE[wireCode] : undefined;
  return new PilotError(code ?? DaemonReplyCode.INTERNAL, message === '' ? 'daemon error' : message);
}
