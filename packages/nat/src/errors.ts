import { PilotError } from '@pilot/wire';

/** The nat package's error codes. Values are part of the public API: never rename them. */
export const NatErrorCode = {
  /** Bytes are not a STUN message: the top two bits are set, or the magic cookie is missing. */
  NOT_STUN: 'NAT_NOT_STUN',
  /** A STUN message is shorter than its header or its announced length. */
  STUN_TRUNCATED: 'NAT_STUN_TRUNCATED',
  /** A STUN message is malformed: bad length, attribute overrun, bad address family, misplaced FINGERPRINT. */
  STUN_MALFORMED: 'NAT_STUN_MALFORMED',
  /** A STUN FINGERPRINT does not match the message. */
  STUN_BAD_FINGERPRINT: 'NAT_STUN_BAD_FINGERPRINT',
  /** A STUN server answered with an error response. */
  STUN_ERROR_RESPONSE: 'NAT_STUN_ERROR_RESPONSE',
  /** A STUN success response carries neither XOR-MAPPED-ADDRESS nor MAPPED-ADDRESS. */
  STUN_NO_ADDRESS: 'NAT_STUN_NO_ADDRESS',
  /** No answer came before the deadline (STUN, discover, punch). */
  TIMEOUT: 'NAT_TIMEOUT',
  /** The socket was closed, or the operation aborted, while waiting. */
  ABORTED: 'NAT_ABORTED',
  /** A value given to an encoder or an option is out of range (a port, a transaction ID length). */
  OUT_OF_RANGE: 'NAT_OUT_OF_RANGE',
  /**
   * No longer thrown: addresses are checked by `@pilot/wire`'s `checkUdpAddress`, which throws
   * `WIRE_BAD_ADDRESS`. Kept because codes are never renamed or reused.
   */
  BAD_ADDRESS: 'NAT_BAD_ADDRESS',
  /** A padded beacon request carries something other than zero bytes after the message. */
  BAD_PADDING: 'NAT_BAD_PADDING',
  /** A WebSocket frame breaks RFC 6455 (reserved bits, bad opcode, unmasked client frame, bad control frame). */
  WS_MALFORMED: 'NAT_WS_MALFORMED',
  /** A WebSocket message is larger than the receiver accepts. */
  WS_TOO_LARGE: 'NAT_WS_TOO_LARGE',
  /** The WebSocket opening handshake failed (not a 101, wrong accept key, missing headers, head too large). */
  WS_HANDSHAKE: 'NAT_WS_HANDSHAKE',
  /** The HTTP proxy refused the CONNECT (its status is in the message) or its answer was not HTTP. */
  PROXY_REFUSED: 'NAT_PROXY_REFUSED',
  /** The TLS relay refused this node (bad or late hello, unknown node, over a budget) or closed. */
  RELAY_REFUSED: 'NAT_RELAY_REFUSED',
  /** A TLS certificate's fingerprint is not the pinned one (or the verifier refused it). */
  PIN_MISMATCH: 'NAT_PIN_MISMATCH',
} as const;

export type NatErrorCode = (typeof NatErrorCode)[keyof typeof NatErrorCode];

/** Builds a PilotError carrying one of the nat codes. */
export function natError(code: NatErrorCode, message: string, cause?: unknown): PilotError {
  return new PilotError(code, message, cause === undefined ? undefined : { cause });
}
