/** The fixed value at bytes 4–7 of every RFC 5389/8489 STUN message. */
export const STUN_MAGIC_COOKIE = 0x2112a442;
/** Header size: type (2), length (2), cookie (4), transaction ID (12). */
export const STUN_HEADER_SIZE = 20;
/** CRC-32 of the message XOR this is the FINGERPRINT value ("STUN" in ASCII). */
export const STUN_FINGERPRINT_XOR = 0x5354554e;

/** The class bits of a STUN message type. */
export const StunClass = {
  REQUEST: 0,
  INDICATION: 1,
  SUCCESS: 2,
  ERROR: 3,
} as const;
export type StunClass = (typeof StunClass)[keyof typeof StunClass];

/** STUN methods this package uses. */
export const StunMethod = {
  BINDING: 0x001,
} as const;

/** Attribute types (RFC 8489 §18.3, RFC 5780 for CHANGE-REQUEST, RESPONSE-ORIGIN, OTHER-ADDRESS, PADDING). */
export const StunAttributeType = {
  MAPPED_ADDRESS: 0x0001,
  CHANGE_REQUEST: 0x0003,
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  UNKNOWN_ATTRIBUTES: 0x000a,
  MESSAGE_INTEGRITY_SHA256: 0x001c,
  XOR_MAPPED_ADDRESS: 0x0020,
  PADDING: 0x0026,
  SOFTWARE: 0x8022,
  FINGERPRINT: 0x8028,
  RESPONSE_ORIGIN: 0x802b,
  OTHER_ADDRESS: 0x802c,
} as const;

/**
 * Attribute types a Binding server here understands. Any other type below 0x8000 is
 * "comprehension-required" and makes a request fail with 420 (RFC 8489 §6.3.1).
 */
export const UNDERSTOOD_ATTRIBUTES: ReadonlySet<number> = new Set<number>([
  StunAttributeType.MAPPED_ADDRESS,
  StunAttributeType.CHANGE_REQUEST,
  StunAttributeType.MESSAGE_INTEGRITY,
  StunAttributeType.ERROR_CODE,
  StunAttributeType.UNKNOWN_ATTRIBUTES,
  StunAttributeType.MESSAGE_INTEGRITY_SHA256,
  StunAttributeType.XOR_MAPPED_ADDRESS,
  StunAttributeType.PADDING,
]);
