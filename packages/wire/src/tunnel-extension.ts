import { checkU32 } from './codec.js';
import { WireErrorCode, wireError } from './errors.js';
import { AUTH_KEY_EXCHANGE_SIZE, TunnelMagic, X25519_PUBLIC_KEY_SIZE } from './tunnel-frame.js';

/**
 * The PILX extension: what a pilot-ts peer appends to every PILA it sends, after the 136 bytes of
 * the spec. The reference reads a PILA by its minimum length and ignores what follows, so a
 * reference peer sees the spec's PILA; a pilot-ts peer learns from it that the other end is
 * pilot-ts, what it supports (capability bits) and, for forward secrecy, its ephemeral X25519 key.
 *
 * Layout, offsets from the end of the PILA:
 * `"PILX" ‖ u8 version (1) ‖ u8 reserved ‖ u16 body length B ‖ body (B bytes) ‖ Ed25519 signature (64)`,
 * the v1 body being `u32 capability bits ‖ u64 timestamp ms ‖ ephemeral X25519 (32) ‖ echo (32)`
 * (76 bytes); a longer body carries later fields, signed and ignored by v1.
 */
export const PILA_EXTENSION_MAGIC = 0x50494c58;
export const PILA_EXTENSION_VERSION = 1;
/** Magic, version, reserved byte, body length. */
export const PILA_EXTENSION_HEAD_SIZE = 8;
/** The v1 body: capability bits, timestamp, ephemeral key, echo. */
export const PILA_EXTENSION_BODY_SIZE = 76;
export const PILA_EXTENSION_SIGNATURE_SIZE = 64;
/** A v1 extension: 148 bytes (a PILA with it: 284). */
export const PILA_EXTENSION_SIZE: number =
  PILA_EXTENSION_HEAD_SIZE + PILA_EXTENSION_BODY_SIZE + PILA_EXTENSION_SIGNATURE_SIZE;
/** The largest body a decoder accepts (a datagram's worth): bounds what a peer can make us sign-check. */
export const PILA_EXTENSION_MAX_BODY = 1024;

/**
 * What a pilot-ts tunnel may support beyond the spec, by name, with the bit it takes in a PILX.
 * One line per capability; a bit is never reused.
 */
export const TunnelCapability = {
  /** Ephemeral X25519 per session mixed with the static keys, per-direction keys, rekeying. */
  FORWARD_SECRECY: 'forward-secrecy',
  /** Tunnel datagrams larger than the spec's (reserved for the `speed` work). */
  LARGE_DATAGRAMS: 'large-datagrams',
  /**
   * Packets sealed in PILS between the two go with the packet checksum field zero and are not
   * CRC-checked on arrival: the AEAD tag already authenticates every byte. PILT, and every peer
   * that did not negotiate it, keep the spec's CRC-32.
   */
  AEAD_CHECKSUM_FREE: 'aead-checksum-free',
} as const;

export type TunnelCapabilityName = (typeof TunnelCapability)[keyof typeof TunnelCapability];

/** The bit of each capability in the PILX capability word. */
export const TUNNEL_CAPABILITY_BITS: Readonly<Record<TunnelCapabilityName, number>> = {
  'forward-secrecy': 0,
  'large-datagrams': 1,
  'aead-checksum-free': 2,
};

/** The capability word for `names` (unknown names are WIRE_BAD_VALUE). */
export function encodeCapabilities(names: Iterable<string>): number {
  let word = 0;
  for (const name of names) {
    const bit = (TUNNEL_CAPABILITY_BITS as Record<string, number | undefined>)[name];
    if (bit === undefined)
      throw wireError(WireErrorCode.BAD_VALUE, `unknown tunnel capability ${JSON.stringify(name)}`);
    word |= 1 << bit;
  }
  return word >>> 0;
}

/** The names we know among the bits of `word`, in bit order; unknown bits are ignored. */
export function decodeCapabilities(word: number): TunnelCapabilityName[] {
  const out: TunnelCapabilityName[] = [];
  for (const [name, bit] of Object.entries(TUNNEL_CAPABILITY_BITS) as [TunnelCapabilityName, number][]) {
    if ((word >>> bit) & 1) out.push(name);
  }
  return out;
}

/** The fields of a PILX (byte fields are views of the decoded frame). */
export interface PilaExtension {
  /** The capability word (see `decodeCapabilities`). */
  readonly capabilities: number;
  /** Milliseconds; a receiver accepts only a newer one than it last accepted from that peer. */
  readonly timestamp: bigint;
  /** The sender's ephemeral X25519 key for this session; undefined when it offers none (all zeros). */
  readonly ephemeral: Uint8Array | undefined;
  /** The receiver's ephemeral key the sender last saw; undefined when none (all zeros). */
  readonly echo: Uint8Array | undefined;
}

/** A decoded PILX with what its signature covers. */
export interface DecodedPilaExtension extends PilaExtension {
  /** The Ed25519 signature (64 bytes). */
  readonly signature: Uint8Array;
  /** The extension bytes the signature covers after the PILA fields: head and body. */
  readonly signedTail: Uint8Array;
}

/** The ASCII label that opens the bytes a PILX signature covers (it cannot collide with a PILA's `auth`). */
export const PILA_EXTENSION_LABEL: Uint8Array = Uint8Array.from('pilot-ts pilx v1', (c) => c.charCodeAt(0));

function get32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

function put32(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 24;
  out[at + 1] = (value >>> 16) & 0xff;
  out[at + 2] = (value >>> 8) & 0xff;
  out[at + 3] = value & 0xff;
}

function isZero(bytes: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < bytes.length; i++) acc |= bytes[i]!;
  return acc === 0;
}

function checkKey(value: Uint8Array | undefined, what: string): void {
  if (value === undefined) return;
  if (!(value instanceof Uint8Array) || value.length !== X25519_PUBLIC_KEY_SIZE) {
    throw wireError(WireErrorCode.LENGTH_MISMATCH, `${what} must be ${X25519_PUBLIC_KEY_SIZE} bytes`);
  }
}

/**
 * The head and body of a v1 PILX (84 bytes), the part its signature covers after the PILA fields;
 * the signer appends the 64-byte signature. A capability word outside u32 or a timestamp outside
 * u64 is WIRE_OUT_OF_RANGE; a key of the wrong size WIRE_LENGTH_MISMATCH.
 */
export function encodePilaExtensionTail(extension: PilaExtension): Uint8Array {
  checkU32(extension.capabilities, 'capabilities');
  if (
    typeof extension.timestamp !== 'bigint' ||
    extension.timestamp < 0n ||
    extension.timestamp > 0xffff_ffff_ffff_ffffn
  ) {
    throw wireError(WireErrorCode.OUT_OF_RANGE, 'timestamp must be a u64 bigint');
  }
  checkKey(extension.ephemeral, 'ephemeral');
  checkKey(extension.echo, 'echo');
  const out = new Uint8Array(PILA_EXTENSION_HEAD_SIZE + PILA_EXTENSION_BODY_SIZE);
  put32(out, 0, PILA_EXTENSION_MAGIC);
  out[4] = PILA_EXTENSION_VERSION;
  out[6] = PILA_EXTENSION_BODY_SIZE >>> 8;
  out[7] = PILA_EXTENSION_BODY_SIZE & 0xff;
  put32(out, 8, extension.capabilities);
  put32(out, 12, Number(extension.timestamp >> 32n));
  put32(out, 16, Number(extension.timestamp & 0xffff_ffffn));
  if (extension.ephemeral !== undefined) out.set(extension.ephemeral, 20);
  if (extension.echo !== undefined) out.set(extension.echo, 52);
  return out;
}

/**
 * The PILX after the 136 bytes of a PILA datagram, unverified (`@pilot/crypto`'s
 * `verifyPilaExtension` checks the signature). Returns undefined when there is none: no bytes after
 * the PILA (a reference peer), bytes that do not start with `PILX`, or another version than 1 —
 * trailing bytes we do not understand are ignored, as the reference ignores them. A PILX that is
 * there but malformed is a WIRE_ error: fewer than 8 bytes of head, or fewer bytes than the head
 * promises (WIRE_TRUNCATED); a body shorter than v1's or longer than 1,024 bytes
 * (WIRE_LENGTH_MISMATCH); a frame that is not a PILA (WIRE_BAD_MAGIC, WIRE_TRUNCATED). Bytes after
 * the signature are ignored.
 */
export function decodePilaExtension(frame: Uint8Array): DecodedPilaExtension | undefined {
  if (!(frame instanceof Uint8Array))
    throw wireError(WireErrorCode.BAD_VALUE, 'a PILA frame must be a Uint8Array');
  if (frame.length < AUTH_KEY_EXCHANGE_SIZE) {
    throw wireError(
      WireErrorCode.TRUNCATED,
      `PILA frame needs at least ${AUTH_KEY_EXCHANGE_SIZE} bytes, got ${frame.length}`,
    );
  }
  if (get32(frame, 0) !== TunnelMagic.AUTH_KEY_EXCHANGE) {
    throw wireError(WireErrorCode.BAD_MAGIC, 'a PILX extension follows a PILA frame only');
  }
  const at = AUTH_KEY_EXCHANGE_SIZE;
  const rest = frame.length - at;
  if (rest < 4 || get32(frame, at) !== PILA_EXTENSION_MAGIC) return undefined;
  if (rest < PILA_EXTENSION_HEAD_SIZE) {
    throw wireError(
      WireErrorCode.TRUNCATED,
      `PILX head needs ${PILA_EXTENSION_HEAD_SIZE} bytes, got ${rest}`,
    );
  }
  if (frame[at + 4] !== PILA_EXTENSION_VERSION) return undefined;
  const body = (frame[at + 6]! << 8) | frame[at + 7]!;
  if (body < PILA_EXTENSION_BODY_SIZE || body > PILA_EXTENSION_MAX_BODY) {
    throw wireError(
      WireErrorCode.LENGTH_MISMATCH,
      `PILX body length ${body} outside ${PILA_EXTENSION_BODY_SIZE}..${PILA_EXTENSION_MAX_BODY}`,
    );
  }
  const need = PILA_EXTENSION_HEAD_SIZE + body + PILA_EXTENSION_SIGNATURE_SIZE;
  if (rest < need) throw wireError(WireErrorCode.TRUNCATED, `PILX needs ${need} bytes, got ${rest}`);
  const b = at + PILA_EXTENSION_HEAD_SIZE;
  const hi = get32(frame, b + 4);
  const lo = get32(frame, b + 8);
  const ephemeral = frame.subarray(b + 12, b + 44);
  const echo = frame.subarray(b + 44, b + 76);
  const end = b + body;
  return {
    capabilities: get32(frame, b),
    timestamp: (BigInt(hi) << 32n) | BigInt(lo),
    ephemeral: isZero(ephemeral) ? undefined : ephemeral,
    echo: isZero(echo) ? undefined : echo,
    signature: frame.subarray(end, end + PILA_EXTENSION_SIGNATURE_SIZE),
    signedTail: frame.subarray(at, end),
  };
}

/**
 * The bytes a PILX signature covers: the label, the PILA's node ID, X25519 and Ed25519 keys (bytes
 * 4..72 of the frame: the extension is bound to that PILA) and the extension's head and body.
 */
export function pilaExtensionSignedBytes(pila: Uint8Array, signedTail: Uint8Array): Uint8Array {
  if (!(pila instanceof Uint8Array) || pila.length < AUTH_KEY_EXCHANGE_SIZE) {
    throw wireError(WireErrorCode.TRUNCATED, `PILA frame needs at least ${AUTH_KEY_EXCHANGE_SIZE} bytes`);
  }
  const label = PILA_EXTENSION_LABEL;
  const out = new Uint8Array(label.length + 68 + signedTail.length);
  out.set(label, 0);
  out.set(pila.subarray(4, 72), label.length);
  out.set(signedTail, label.length + 68);
  return out;
}
