/**
 * The one error class of pilot-ts. Every failure that a caller may act on carries a stable,
 * namespaced `code` (`WIRE_TRUNCATED`, `CRYPTO_BAD_TAG`, …); messages are for people and may change.
 * Each package defines its codes as an `as const` object and builds errors through small factories,
 * so that a code is spelled in exactly one place.
 */
export class PilotError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PilotError';
    this.code = code;
  }

  /**
   * `x instanceof PilotError` holds for the PilotErrors of every copy of this package in the process
   * (a bundled program such as pilotctl inlines one, the packages it loads later bring another).
   * Subclasses keep the ordinary prototype check.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class `instanceof` asks about (a subclass).
    if (this !== PilotError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as { [PILOT_ERROR]?: unknown })[PILOT_ERROR] === true
    );
  }
}

/** The brand that every copy of PilotError puts on its prototype (a registered symbol: one per process). */
const PILOT_ERROR: unique symbol = Symbol.for('@pilot/wire:PilotError') as typeof PILOT_ERROR;
Object.defineProperty(PilotError.prototype, PILOT_ERROR, { value: true });

/** True when `value` is a PilotError, optionally with the given code. */
export function isPilotError(value: unknown, code?: string): value is PilotError {
  return value instanceof PilotError && (code === undefined || value.code === code);
}

/** The wire package's error codes. Values are part of the public API: never renumber or rename. */
export const WireErrorCode = {
  /** The input ends before the structure it must hold. */
  TRUNCATED: 'WIRE_TRUNCATED',
  /** A tunnel frame does not begin with a known magic. */
  BAD_MAGIC: 'WIRE_BAD_MAGIC',
  /** The CRC-32 of a packet does not match its bytes. */
  BAD_CHECKSUM: 'WIRE_BAD_CHECKSUM',
  /** The packet header's version nibble is not 1. */
  BAD_VERSION: 'WIRE_BAD_VERSION',
  /** A length field disagrees with the bytes present or with the fixed size of the structure. */
  LENGTH_MISMATCH: 'WIRE_LENGTH_MISMATCH',
  /** A field holds a value outside its domain (unknown type byte, IP length not 4 or 16, …). */
  BAD_VALUE: 'WIRE_BAD_VALUE',
  /** Text that should be an address, socket address or port is malformed. */
  BAD_ADDRESS: 'WIRE_BAD_ADDRESS',
  /** A value given to an encoder cannot be represented on the wire (too long, out of range). */
  OUT_OF_RANGE: 'WIRE_OUT_OF_RANGE',
  /** A frame is larger than the protocol allows. */
  TOO_LARGE: 'WIRE_TOO_LARGE',
} as const;

export type WireErrorCode = (typeof WireErrorCode)[keyof typeof WireErrorCode];

/** Builds a PilotError carrying one of the wire codes. */
export function wireError(code: WireErrorCode, message: string): PilotError {
  return new PilotError(code, message);
}
