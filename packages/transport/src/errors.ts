import { PilotError } from '@pilot/wire';

/** The transport package's error codes. Values are part of the public API: never rename. */
export const TransportErrorCode = {
  /** The peer answered a SYN with RST: nothing listens on that port, or a limit was reached. */
  CONNECTION_REFUSED: 'TRANSPORT_CONNECTION_REFUSED',
  /** The peer reset an open connection. */
  CONNECTION_RESET: 'TRANSPORT_CONNECTION_RESET',
  /** No SYN-ACK arrived after every SYN retransmission. */
  CONNECT_TIMEOUT: 'TRANSPORT_CONNECT_TIMEOUT',
  /** A segment went unacknowledged through every retransmission, or keepalives went unanswered. */
  PEER_DEAD: 'TRANSPORT_PEER_DEAD',
  /** The connection saw no application data for the idle timeout. */
  IDLE_TIMEOUT: 'TRANSPORT_IDLE_TIMEOUT',
  /** The local side aborted the connection. */
  ABORTED: 'TRANSPORT_ABORTED',
  /** A write after close(), or on a connection that is not open for sending. */
  NOT_WRITABLE: 'TRANSPORT_NOT_WRITABLE',
  /** A port is already bound by a listener, or no ephemeral port is free. */
  PORT_IN_USE: 'TRANSPORT_PORT_IN_USE',
  /** A value given to the transport is outside its domain. */
  BAD_ARGUMENT: 'TRANSPORT_BAD_ARGUMENT',
  /** The endpoint or driver was closed. */
  CLOSED: 'TRANSPORT_CLOSED',
  /** The per-port or total connection limit was reached. */
  LIMIT_REACHED: 'TRANSPORT_LIMIT_REACHED',
  /** No UDP endpoint is known for a peer node (node driver). */
  NO_ROUTE: 'TRANSPORT_NO_ROUTE',
} as const;

export type TransportErrorCode = (typeof TransportErrorCode)[keyof typeof TransportErrorCode];

/** Builds a PilotError carrying one of the transport codes. */
export function transportError(code: TransportErrorCode, message: string, cause?: unknown): PilotError {
  return new PilotError(code, message, cause === undefined ? undefined : { cause });
}
