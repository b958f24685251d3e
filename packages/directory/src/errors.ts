import { PilotError } from '@pilot/wire';

/**
 * The directory's error codes, carried by thrown PilotErrors and by `{type:"error", code}` replies.
 * Values are part of the public API (a client of another implementation may match on them): never
 * rename one. Reply messages also contain the reference registry's phrases ("not found", "invalid",
 * "already", "required", "denied") because reference clients match on the text.
 */
export const DirErrorCode = {
  /** The request is not a JSON object, lacks a field, or a field has the wrong type or range. */
  BAD_REQUEST: 'DIR_BAD_REQUEST',
  /**
   * An endpoint a node announces (`listen_addr`, `lan_addrs`) is not `host:port`, or a LAN address
   * is not an IP literal, is unspecified, or is loopback from a node that is not on loopback.
   */
  BAD_ENDPOINT: 'DIR_BAD_ENDPOINT',
  /** The request's `type` is not an operation this server knows. */
  UNKNOWN_TYPE: 'DIR_UNKNOWN_TYPE',
  /** A frame is larger than the limit; the connection is closed after the reply. */
  TOO_LARGE: 'DIR_TOO_LARGE',
  /** No live node, network, hostname or pending request matches (also used to hide private nodes). */
  NOT_FOUND: 'DIR_NOT_FOUND',
  /** The signature does not verify against the node's registered key. */
  BAD_SIGNATURE: 'DIR_BAD_SIGNATURE',
  /** The operation needs a signature (or an admin token) and none was given. */
  SIGNATURE_REQUIRED: 'DIR_SIGNATURE_REQUIRED',
  /** A fresh signature's timestamp is outside the accepted window around the server's clock. */
  STALE_SIGNATURE: 'DIR_STALE_SIGNATURE',
  /** A fresh signature's nonce was already used by this signer: a replay. */
  REPLAYED: 'DIR_REPLAYED',
  /** A reference (replayable) challenge was sent where only fresh signatures are accepted. */
  FRESHNESS_REQUIRED: 'DIR_FRESHNESS_REQUIRED',
  /** The hostname does not match the hostname rule. */
  HOSTNAME_INVALID: 'DIR_HOSTNAME_INVALID',
  /** The hostname belongs to another live node. */
  HOSTNAME_TAKEN: 'DIR_HOSTNAME_TAKEN',
  /** The hostname is reserved (localhost, backbone, broadcast, …). */
  HOSTNAME_RESERVED: 'DIR_HOSTNAME_RESERVED',
  /** A tag does not match the tag rule. */
  TAG_INVALID: 'DIR_TAG_INVALID',
  /** More tags than a node may carry. */
  TOO_MANY_TAGS: 'DIR_TOO_MANY_TAGS',
  /** The requester may not learn the target's endpoint (privacy rule). */
  RESOLVE_DENIED: 'DIR_RESOLVE_DENIED',
  /** The requester is not allowed to do this (not a member, not a participant, admin only, …). */
  FORBIDDEN: 'DIR_FORBIDDEN',
  /** A network token does not match. */
  BAD_TOKEN: 'DIR_BAD_TOKEN',
  /** The public key is already registered to another node. */
  KEY_IN_USE: 'DIR_KEY_IN_USE',
  /** The owner already holds as many nodes as allowed. */
  OWNER_LIMIT: 'DIR_OWNER_LIMIT',
  /** The directory (or the network id space) is full. */
  FULL: 'DIR_FULL',
  /** The state already holds what the request would create (a pending handshake, a name, …). */
  ALREADY: 'DIR_ALREADY',
  /** An inbox (handshakes, invites) is full. */
  INBOX_FULL: 'DIR_INBOX_FULL',
  /** Too many requests from this connection or source. */
  RATE_LIMITED: 'DIR_RATE_LIMITED',
  /** The store failed (disk full, I/O error); nothing of the request was written. */
  STORE_FAILED: 'DIR_STORE_FAILED',
  /** The database was written by a newer schema than this code knows. */
  SCHEMA_TOO_NEW: 'DIR_SCHEMA_TOO_NEW',
  /** An unexpected server fault; the request may be retried. */
  INTERNAL: 'DIR_INTERNAL',
  /** Client side: no reply before the request's deadline. */
  TIMEOUT: 'DIR_TIMEOUT',
  /** Client side: the connection failed or the client was closed. */
  CONNECTION: 'DIR_CONNECTION',
  /** Client side: the server's TLS certificate does not match the pinned fingerprint. */
  PIN_MISMATCH: 'DIR_PIN_MISMATCH',
  /** Client side: the server replied with an error that carries no code (another implementation). */
  REMOTE: 'DIR_REMOTE',
  /** Client side: the reply is not what the request expects. */
  BAD_REPLY: 'DIR_BAD_REPLY',
  /** Client side: the registry does not advertise the extension this call needs (e.g. a reference registry has no `find`). */
  UNSUPPORTED: 'DIR_UNSUPPORTED',
} as const;

export type DirErrorCode = (typeof DirErrorCode)[keyof typeof DirErrorCode];

/** Builds a PilotError carrying one of the directory codes. */
export function dirError(code: DirErrorCode, message: string, cause?: unknown): PilotError {
  return new PilotError(code, message, cause === undefined ? undefined : { cause });
}
