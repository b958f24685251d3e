import { checkU32 } from './codec.js';
import { WireErrorCode, wireError } from './errors.js';
import {
  decodePacket,
  encodePacketInto,
  HEADER_SIZE,
  type Packet,
  type PacketInit,
  packetSize,
} from './packet.js';

/** The 4-byte magics that open every tunnel datagram (all start with "P", 0x50). */
export const TunnelMagic = {
  /** "PILT": a plaintext packet. */
  PLAINTEXT: 0x50494c54,
  /** "PILS": an AES-256-GCM sealed packet. */
  ENCRYPTED: 0x50494c53,
  /** "PILK": anonymous X25519 key exchange. */
  KEY_EXCHANGE: 0x50494c4b,
  /** "PILA": X25519 key exchange signed by the node's Ed25519 identity. */
  AUTH_KEY_EXCHANGE: 0x50494c41,
  /** "PILP": NAT hole punch. */
  PUNCH: 0x50494c50,
} as const;

export type TunnelMagic = (typeof TunnelMagic)[keyof typeof TunnelMagic];

export const MAGIC_SIZE = 4;
export const NONCE_SIZE = 12;
export const GCM_TAG_SIZE = 16;
export const X25519_PUBLIC_KEY_SIZE = 32;
export const ED25519_PUBLIC_KEY_SIZE = 32;
export const ED25519_SIGNATURE_SIZE = 64;
/** Magic, sender node and nonce: the bytes of a PILS frame before its ciphertext. */
export const ENCRYPTED_HEADER_SIZE = 20;
/** The smallest PILS frame: header and a bare GCM tag (an empty plaintext). */
export const ENCRYPTED_MIN_SIZE = 36;
/** A PILK frame: magic, sender node, X25519 key. */
export const KEY_EXCHANGE_SIZE = 40;
/** A PILA frame: magic, sender node, X25519 key, Ed25519 key, Ed25519 signature. */
export const AUTH_KEY_EXCHANGE_SIZE = 136;
/** Bytes the PILA signature covers: "auth", the node ID, the X25519 key. */
export const AUTH_SIGNED_SIZE = 40;

/** PILT: a packet in the clear. `packet` is the packet's bytes (a view when decoded), unverified. */
export interface PlaintextFrame {
  readonly kind: 'plaintext';
  readonly packet: Uint8Array;
}

/** PILS: `ciphertext` includes the 16-byte GCM tag; the AAD is the 4-byte big-endian `senderNode`. */
export interface EncryptedFrame {
  readonly kind: 'encrypted';
  readonly senderNode: number;
  readonly nonce: Uint8Array;
  readonly ciphertext: Uint8Array;
}

/** PILK. */
export interface KeyExchangeFrame {
  readonly kind: 'key-exchange';
  readonly senderNode: number;
  readonly x25519PublicKey: Uint8Array;
}

/** PILA: `signature` is Ed25519 over `authKeyExchangeSignedBytes(senderNode, x25519PublicKey)`. */
export interface AuthKeyExchangeFrame {
  readonly kind: 'auth-key-exchange';
  readonly senderNode: number;
  readonly x25519PublicKey: Uint8Array;
  readonly ed25519PublicKey: Uint8Array;
  readonly signature: Uint8Array;
}

/** PILP: its contents carry no meaning (the reference sends the magic alone; the spec adds a node ID). */
export interface PunchFrame {
  readonly kind: 'punch';
}

export type TunnelFrame =
  | PlaintextFrame
  | EncryptedFrame
  | KeyExchangeFrame
  | AuthKeyExchangeFrame
  | PunchFrame;

export type TunnelFrameKind = TunnelFrame['kind'];

/** Options of `decodeTunnelFrame`. */
export interface DecodeTunnelFrameOptions {
  /**
   * Refuse PILK and PILA frames longer than their fixed size with WIRE_LENGTH_MISMATCH. Off by
   * default: the reference checks only a minimum size and ignores what follows (bytes the PILA
   * signature does not cover either), so a peer appending fields later stays reachable.
   */
  readonly exact?: boolean;
}

/**
 * The reference's demultiplexing rule for the shared UDP socket: a datagram whose first byte is below
 * 0x10 goes to the beacon handler, anything else is read as a tunnel frame (every tunnel magic
 * starts with 0x50, so the two never collide). Empty input is neither. Unlike `isBeaconMessage`,
 * which accepts only the known beacon types, this also claims the unused bytes 0x00 and 0x08–0x0F,
 * as the reference does (it then drops them as unknown beacon types).
 */
export function isBeaconDatagram(bytes: Uint8Array): boolean {
  return bytes.length > 0 && bytes[0]! < 0x10;
}

function get32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

function put32(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 24;
  out[at + 1] = (value >>> 16) & 0xff;
  out[at + 2] = (value >>> 8) & 0xff;
  out[at + 3] = value & 0xff;
}

function checkBytes(value: Uint8Array, size: number, what: string): void {
  if (!(value instanceof Uint8Array) || value.length !== size) {
    const got = value instanceof Uint8Array ? `${value.length} bytes` : typeof value;
    throw wireError(WireErrorCode.LENGTH_MISMATCH, `${what} must be ${size} bytes, got ${got}`);
  }
}

/** The magic at the head of `bytes`, or undefined when fewer than 4 bytes are present. */
export function peekTunnelMagic(bytes: Uint8Array): number | undefined {
  return bytes.length < MAGIC_SIZE ? undefined : get32(bytes, 0);
}

/** The 40 bytes a PILA signature covers: ASCII "auth" (no colon), u32 node ID, X25519 public key. */
export function authKeyExchangeSignedBytes(nodeId: number, x25519PublicKey: Uint8Array): Uint8Array {
  checkU32(nodeId, 'nodeId');
  checkBytes(x25519PublicKey, X25519_PUBLIC_KEY_SIZE, 'x25519PublicKey');
  const out = new Uint8Array(AUTH_SIGNED_SIZE);
  out[0] = 0x61; // a
  out[1] = 0x75; // u
  out[2] = 0x74; // t
  out[3] = 0x68; // h
  put32(out, 4, nodeId);
  out.set(x25519PublicKey, 8);
  return out;
}

function truncated(what: string, need: number, got: number): never {
  throw wireError(WireErrorCode.TRUNCATED, `${what} needs at least ${need} bytes, got ${got}`);
}

function tooLong(what: string, size: number, got: number, exact: boolean | undefined): void {
  if (exact === true && got !== size) {
    throw wireError(WireErrorCode.LENGTH_MISMATCH, `${what} is ${size} bytes, got ${got}`);
  }
}

/**
 * Decodes one UDP datagram as a tunnel frame. Byte fields are views of `bytes`.
 *
 * - Fewer than 4 bytes: WIRE_TRUNCATED. An unknown magic (a beacon message included, see
 *   `isBeaconDatagram`): WIRE_BAD_MAGIC.
 * - PILT: at least 4 + 34 bytes, else WIRE_TRUNCATED; the packet bytes are returned as they are
 *   (`decodeTunnelPacket` verifies and decodes them in one step).
 * - PILS: at least 36 bytes (header and GCM tag), else WIRE_TRUNCATED.
 * - PILK / PILA: at least 40 / 136 bytes, else WIRE_TRUNCATED; bytes beyond are ignored as the
 *   reference ignores them, unless `options.exact` (then WIRE_LENGTH_MISMATCH).
 * - PILP: any length from 4.
 */
export function decodeTunnelFrame(bytes: Uint8Array, options?: DecodeTunnelFrameOptions): TunnelFrame {
  const length = bytes.length;
  if (length < MAGIC_SIZE) truncated('tunnel frame', MAGIC_SIZE, length);
  const magic = get32(bytes, 0);
  switch (magic) {
    case TunnelMagic.ENCRYPTED:
      if (length < ENCRYPTED_MIN_SIZE) truncated('PILS frame', ENCRYPTED_MIN_SIZE, length);
      return {
        kind: 'encrypted',
        senderNode: get32(bytes, 4),
        nonce: bytes.subarray(8, ENCRYPTED_HEADER_SIZE),
        ciphertext: bytes.subarray(ENCRYPTED_HEADER_SIZE),
      };
    case TunnelMagic.PLAINTEXT:
      if (length < MAGIC_SIZE + HEADER_SIZE) truncated('PILT frame', MAGIC_SIZE + HEADER_SIZE, length);
      return { kind: 'plaintext', packet: bytes.subarray(MAGIC_SIZE) };
    case TunnelMagic.KEY_EXCHANGE:
      if (length < KEY_EXCHANGE_SIZE) truncated('PILK frame', KEY_EXCHANGE_SIZE, length);
      tooLong('PILK frame', KEY_EXCHANGE_SIZE, length, options?.exact);
      return { kind: 'key-exchange', senderNode: get32(bytes, 4), x25519PublicKey: bytes.subarray(8, 40) };
    case TunnelMagic.AUTH_KEY_EXCHANGE:
      if (length < AUTH_KEY_EXCHANGE_SIZE) truncated('PILA frame', AUTH_KEY_EXCHANGE_SIZE, length);
      tooLong('PILA frame', AUTH_KEY_EXCHANGE_SIZE, length, options?.exact);
      return {
        kind: 'auth-key-exchange',
        senderNode: get32(bytes, 4),
        x25519PublicKey: bytes.subarray(8, 40),
        ed25519PublicKey: bytes.subarray(40, 72),
        signature: bytes.subarray(72, 136),
      };
    case TunnelMagic.PUNCH:
      return { kind: 'punch' };
    default:
      throw wireError(
        WireErrorCode.BAD_MAGIC,
        `unknown tunnel magic 0x${magic.toString(16).padStart(8, '0')}`,
      );
  }
}

/**
 * Decodes a PILT datagram straight to its packet (verified: checksum and version). Anything else,
 * another magic included, is a WIRE_ error.
 */
export function decodeTunnelPacket(bytes: Uint8Array): Packet {
  if (bytes.length < MAGIC_SIZE) truncated('tunnel frame', MAGIC_SIZE, bytes.length);
  const magic = get32(bytes, 0);
  if (magic !== TunnelMagic.PLAINTEXT) {
    throw wireError(
      WireErrorCode.BAD_MAGIC,
      `expected PILT, got magic 0x${magic.toString(16).padStart(8, '0')}`,
    );
  }
  return decodePacket(bytes.subarray(MAGIC_SIZE));
}

/** Bytes `frame` takes on the wire (after validation by `encodeTunnelFrame`). */
export function tunnelFrameSize(frame: TunnelFrame): number {
  switch (frame.kind) {
    case 'plaintext':
      return MAGIC_SIZE + frame.packet.length;
    case 'encrypted':
      return ENCRYPTED_HEADER_SIZE + frame.ciphertext.length;
    case 'key-exchange':
      return KEY_EXCHANGE_SIZE;
    case 'auth-key-exchange':
      return AUTH_KEY_EXCHANGE_SIZE;
    case 'punch':
      return MAGIC_SIZE;
  }
}

function checkFrame(frame: TunnelFrame): void {
  switch (frame.kind) {
    case 'plaintext':
      if (!(frame.packet instanceof Uint8Array) || frame.packet.length < HEADER_SIZE) {
        throw wireError(WireErrorCode.LENGTH_MISMATCH, `a PILT packet must be at least ${HEADER_SIZE} bytes`);
      }
      return;
    case 'encrypted':
      checkU32(frame.senderNode, 'senderNode');
      checkBytes(frame.nonce, NONCE_SIZE, 'nonce');
      if (!(frame.ciphertext instanceof Uint8Array) || frame.ciphertext.length < GCM_TAG_SIZE) {
        throw wireError(
          WireErrorCode.LENGTH_MISMATCH,
          `ciphertext must hold at least the ${GCM_TAG_SIZE}-byte GCM tag`,
        );
      }
      return;
    case 'key-exchange':
      checkU32(frame.senderNode, 'senderNode');
      checkBytes(frame.x25519PublicKey, X25519_PUBLIC_KEY_SIZE, 'x25519PublicKey');
      return;
    case 'auth-key-exchange':
      checkU32(frame.senderNode, 'senderNode');
      checkBytes(frame.x25519PublicKey, X25519_PUBLIC_KEY_SIZE, 'x25519PublicKey');
      checkBytes(frame.ed25519PublicKey, ED25519_PUBLIC_KEY_SIZE, 'ed25519PublicKey');
      checkBytes(frame.signature, ED25519_SIGNATURE_SIZE, 'signature');
      return;
    case 'punch':
      return;
    default:
      throw wireError(
        WireErrorCode.BAD_VALUE,
        `unknown tunnel frame kind ${JSON.stringify((frame as { kind: unknown }).kind)}`,
      );
  }
}

function writeFrame(frame: TunnelFrame, out: Uint8Array, at: number): void {
  switch (frame.kind) {
    case 'plaintext':
      put32(out, at, TunnelMagic.PLAINTEXT);
      out.set(frame.packet, at + MAGIC_SIZE);
      return;
    case 'encrypted':
      put32(out, at, TunnelMagic.ENCRYPTED);
      put32(out, at + 4, frame.senderNode);
      out.set(frame.nonce, at + 8);
      out.set(frame.ciphertext, at + ENCRYPTED_HEADER_SIZE);
      return;
    case 'key-exchange':
      put32(out, at, TunnelMagic.KEY_EXCHANGE);
      put32(out, at + 4, frame.senderNode);
      out.set(frame.x25519PublicKey, at + 8);
      return;
    case 'auth-key-exchange':
      put32(out, at, TunnelMagic.AUTH_KEY_EXCHANGE);
      put32(out, at + 4, frame.senderNode);
      out.set(frame.x25519PublicKey, at + 8);
      out.set(frame.ed25519PublicKey, at + 40);
      out.set(frame.signature, at + 72);
      return;
    case 'punch':
      put32(out, at, TunnelMagic.PUNCH);
      return;
  }
}

/**
 * The datagram bytes of `frame`. Fields of the wrong size are WIRE_LENGTH_MISMATCH, node IDs outside
 * u32 WIRE_OUT_OF_RANGE. A plaintext frame's packet bytes are copied as given (encode them with
 * `encodePacket`, or use `encodePlaintextFrame` to build both in one buffer). A punch is the magic
 * alone, as the reference sends it.
 */
export function encodeTunnelFrame(frame: TunnelFrame): Uint8Array {
  checkFrame(frame);
  const out = new Uint8Array(tunnelFrameSize(frame));
  writeFrame(frame, out, 0);
  return out;
}

/**
 * Encodes `frame` into `target` at `offset` and returns the bytes written; a target without room is
 * WIRE_OUT_OF_RANGE, checked before anything is written.
 */
export function encodeTunnelFrameInto(frame: TunnelFrame, target: Uint8Array, offset = 0): number {
  checkFrame(frame);
  const size = tunnelFrameSize(frame);
  if (!Number.isInteger(offset) || offset < 0 || offset + size > target.length) {
    throw wireError(
      WireErrorCode.OUT_OF_RANGE,
      `a ${size}-byte frame does not fit at offset ${offset} of a ${target.length}-byte target`,
    );
  }
  writeFrame(frame, target, offset);
  return size;
}

/** A PILT datagram carrying `packet`, encoded straight into one buffer (no intermediate copy). */
export function encodePlaintextFrame(packet: PacketInit): Uint8Array {
  const out = new Uint8Array(MAGIC_SIZE + packetSize(packet));
  encodePacketInto(packet, out, MAGIC_SIZE);
  put32(out, 0, TunnelMagic.PLAINTEXT);
  return out;
}

/**
 * Writes the 20-byte head of a PILS frame (magic, sender node, nonce) into `target` at `offset`, so
 * that a sealer can write the ciphertext and tag right behind it without an extra copy. The AAD of
 * the frame is `target.subarray(offset + 4, offset + 8)`.
 */
export function encodeEncryptedFrameHeaderInto(
  senderNode: number,
  nonce: Uint8Array,
  target: Uint8Array,
  offset = 0,
): number {
  checkU32(senderNode, 'senderNode');
  checkBytes(nonce, NONCE_SIZE, 'nonce');
  if (!Number.isInteger(offset) || offset < 0 || offset + ENCRYPTED_HEADER_SIZE > target.length) {
    throw wireError(
      WireErrorCode.OUT_OF_RANGE,
      `a ${ENCRYPTED_HEADER_SIZE}-byte header does not fit at offset ${offset} of a ${target.length}-byte target`,
    );
  }
  put32(target, offset, TunnelMagic.ENCRYPTED);
  put32(target, offset + 4, senderNode);
  target.set(nonce, offset + 8);
  return ENCRYPTED_HEADER_SIZE;
}
