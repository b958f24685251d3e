import type { State } from './_state.js';
import { type Address, checkAddress } from './address.js';
import { type Codec, checkU16, checkU32 } from './codec.js';
import { crc32Update, crc32UpdateZeros4 } from './crc32.js';
import { WireErrorCode, wireError } from './errors.js';

/** Header flags, the low nibble of byte 0. */
export const PacketFlag = {
  SYN: 0x1,
  ACK: 0x2,
  FIN: 0x4,
  RST: 0x8,
} as const;

export type PacketFlag = (typeof PacketFlag)[keyof typeof PacketFlag];

/** The protocols the reference defines for byte 1. */
export const Protocol = {
  /** Reliable, ordered byte stream. */
  STREAM: 0x01,
  DATAGRAM: 0x02,
  CONTROL: 0x03,
} as const;

export type Protocol = (typeof Protocol)[keyof typeof Protocol];

/** Size of the packet header. */
export const HEADER_SIZE = 34;
/** The only version the reference accepts since April 2026 (the high nibble of byte 0). */
export const PROTOCOL_VERSION = 1;
/** The payload length field is 16 bits. */
export const MAX_PAYLOAD = 0xffff;
/** Offset of the CRC-32 field in the header. */
export const CHECKSUM_OFFSET = 30;
/** Offset of the source node ID (u32) in the header. */
const SOURCE_NODE_OFFSET = 6;

/**
 * The source node ID of an encoded packet, read from its header without decoding (nothing else is
 * checked): what a link or the transport needs before deciding how to decode it. Undefined when
 * `bytes` is shorter than a header.
 */
export function packetSourceNode(bytes: Uint8Array): number | undefined {
  if (bytes.length < HEADER_SIZE) return undefined;
  const at = SOURCE_NODE_OFFSET;
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

/**
 * A decoded packet. `protocol` is the raw byte: like the reference, decoding accepts any value and
 * leaves the decision to the transport (a `Protocol` value or something to drop). `payload` is a
 * view of the decoded bytes, not a copy.
 */
export interface Packet {
  readonly version: number;
  /** Bit set of PacketFlag values (0..15). */
  readonly flags: number;
  readonly protocol: number;
  readonly src: Address;
  readonly dst: Address;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly seq: number;
  readonly ack: number;
  /** Advertised receive window, in segments. */
  readonly window: number;
  readonly payload: Uint8Array;
}

/**
 * What `encodePacket` takes: a Packet, where the fields that are often zero may be left out
 * (version defaults to PROTOCOL_VERSION, flags/seq/ack/window to 0, payload to empty).
 */
export interface PacketInit {
  readonly version?: number;
  readonly flags?: number;
  readonly protocol: number;
  readonly src: Address;
  readonly dst: Address;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly seq?: number;
  readonly ack?: number;
  readonly window?: number;
  readonly payload?: Uint8Array;
}

const EMPTY: Uint8Array = Object.freeze(new Uint8Array(0)) as Uint8Array;

/**
 * How `encodePacket`/`encodePacketInto` write the checksum field. `checksum: false` writes it as
 * zero and skips the CRC: only for a packet that goes out sealed by an AEAD to a peer that agreed
 * to it (the tag authenticates every byte, the CRC adds nothing there). Default: computed.
 */
export interface PacketEncodeOptions {
  readonly checksum?: boolean;
}

/**
 * How `decodePacket` treats the checksum field. `verifyChecksum: false` ignores it (whatever it
 * holds): only for bytes that an AEAD already authenticated as the named peer's, a peer that agreed
 * to send them so. Default: verified (WIRE_BAD_CHECKSUM on a mismatch).
 */
export interface PacketDecodeOptions {
  readonly verifyChecksum?: boolean;
}

function checkNibble(value: number, what: string): void {
  if ((value & 0xf) !== value) {
    throw wireError(WireErrorCode.OUT_OF_RANGE, `${what} must be an integer in 0..15, got ${String(value)}`);
  }
}

/** Validates every field; returns the payload (so the caller reads `packet.payload` once). */
function checkPacket(packet: PacketInit): Uint8Array {
  checkNibble(packet.version ?? PROTOCOL_VERSION, 'version');
  checkNibble(packet.flags ?? 0, 'flags');
  if ((packet.protocol & 0xff) !== packet.protocol) {
    throw wireError(
      WireErrorCode.OUT_OF_RANGE,
      `protocol must be an integer in 0..255, got ${packet.protocol}`,
    );
  }
  checkAddress(packet.src, 'src');
  checkAddress(packet.dst, 'dst');
  checkU16(packet.srcPort, 'srcPort');
  checkU16(packet.dstPort, 'dstPort');
  checkU32(packet.seq ?? 0, 'seq');
  checkU32(packet.ack ?? 0, 'ack');
  checkU16(packet.window ?? 0, 'window');
  const payload = packet.payload ?? EMPTY;
  if (payload.length > MAX_PAYLOAD) {
    throw wireError(WireErrorCode.TOO_LARGE, `payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD}`);
  }
  return payload;
}

function put16(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 8;
  out[at + 1] = value & 0xff;
}

function put32(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 24;
  out[at + 1] = (value >>> 16) & 0xff;
  out[at + 2] = (value >>> 8) & 0xff;
  out[at + 3] = value & 0xff;
}

function get16(bytes: Uint8Array, at: number): number {
  return (bytes[at]! << 8) | bytes[at + 1]!;
}

function get32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

/** CRC-32 of the packet at `at`: header with the checksum taken as zero, then `payloadLength` bytes. */
function packetChecksum(bytes: Uint8Array, at: number, payloadLength: number): number {
  let c = crc32Update(-1, bytes, at, at + CHECKSUM_OFFSET);
  c = crc32UpdateZeros4(c);
  c = crc32Update(c, bytes, at + HEADER_SIZE, at + HEADER_SIZE + payloadLength);
  return ~c >>> 0;
}

/**
 * Writes an already validated packet at `at`; `out` must have room. `checksum` false: the field is
 * written as zero (see PacketEncodeOptions).
 */
function writePacket(
  out: Uint8Array,
  at: number,
  packet: PacketInit,
  payload: Uint8Array,
  checksum = true,
): void {
  out[at] = ((packet.version ?? PROTOCOL_VERSION) << 4) | (packet.flags ?? 0);
  out[at + 1] = packet.protocol;
  put16(out, at + 2, payload.length);
  put16(out, at + 4, packet.src.network);
  put32(out, at + 6, packet.src.node);
  put16(out, at + 10, packet.dst.network);
  put32(out, at + 12, packet.dst.node);
  put16(out, at + 16, packet.srcPort);
  put16(out, at + 18, packet.dstPort);
  put32(out, at + 20, packet.seq ?? 0);
  put32(out, at + 24, packet.ack ?? 0);
  put16(out, at + 28, packet.window ?? 0);
  // TypedArray#set has a fixed cost (~25 ns) worth skipping for the many empty ACKs.
  if (payload.length > 0) out.set(payload, at + HEADER_SIZE);
  put32(out, at + CHECKSUM_OFFSET, checksum ? packetChecksum(out, at, payload.length) : 0);
}

/**
 * Reads the packet at `bytes[at..end)`, in the reference's order: too short for a header →
 * WIRE_TRUNCATED; payload length beyond `end` → WIRE_TRUNCATED; CRC mismatch → WIRE_BAD_CHECKSUM;
 * version not 1 → WIRE_BAD_VERSION. `verify` false skips the CRC (see PacketDecodeOptions); every
 * other check stays.
 */
function readPacket(bytes: Uint8Array, at: number, end: number, verify = true): Packet {
  if (end - at < HEADER_SIZE) {
    throw wireError(
      WireErrorCode.TRUNCATED,
      `packet needs a ${HEADER_SIZE}-byte header, ${end - at} bytes given`,
    );
  }
  const payloadLength = get16(bytes, at + 2);
  if (end - at - HEADER_SIZE < payloadLength) {
    throw wireError(
      WireErrorCode.TRUNCATED,
      `packet announces ${payloadLength} payload bytes, ${end - at - HEADER_SIZE} present`,
    );
  }
  if (verify) {
    const expected = get32(bytes, at + CHECKSUM_OFFSET);
    const actual = packetChecksum(bytes, at, payloadLength);
    if (expected !== actual) {
      throw wireError(
        WireErrorCode.BAD_CHECKSUM,
        `packet checksum 0x${expected.toString(16).padStart(8, '0')} does not match 0x${actual.toString(16).padStart(8, '0')}`,
      );
    }
  }
  const first = bytes[at]!;
  const version = first >>> 4;
  if (version !== PROTOCOL_VERSION) {
    throw wireError(WireErrorCode.BAD_VERSION, `packet version ${version} is not ${PROTOCOL_VERSION}`);
  }
  return {
    version,
    flags: first & 0xf,
    protocol: bytes[at + 1]!,
    src: { network: get16(bytes, at + 4), node: get32(bytes, at + 6) },
    dst: { network: get16(bytes, at + 10), node: get32(bytes, at + 12) },
    srcPort: get16(bytes, at + 16),
    dstPort: get16(bytes, at + 18),
    seq: get32(bytes, at + 20),
    ack: get32(bytes, at + 24),
    window: get16(bytes, at + 28),
    // subarray costs ~60 ns in V8; an empty payload shares one frozen empty array instead.
    payload: payloadLength === 0 ? EMPTY : bytes.subarray(at + HEADER_SIZE, at + HEADER_SIZE + payloadLength),
  };
}

/** Bytes `packet` takes on the wire: the header plus its payload. */
export function packetSize(packet: PacketInit): number {
  return HEADER_SIZE + (packet.payload?.length ?? 0);
}

/**
 * The wire bytes of `packet`, checksum computed (written as zero with `{ checksum: false }`, for an
 * AEAD-sealed link that negotiated it). Invalid fields are WIRE_OUT_OF_RANGE; a payload over 65535
 * bytes is WIRE_TOO_LARGE.
 */
export function encodePacket(packet: PacketInit, options?: PacketEncodeOptions): Uint8Array {
  const payload = checkPacket(packet);
  const out = new Uint8Array(HEADER_SIZE + payload.length);
  writePacket(out, 0, packet, payload, options?.checksum !== false);
  return out;
}

/**
 * Encodes `packet` into `target` at `offset` (for callers that prepend a tunnel magic or reuse
 * buffers) and returns the bytes written. Everything is validated before the first byte is written;
 * a target without room is WIRE_OUT_OF_RANGE. `options` as for `encodePacket`.
 */
export function encodePacketInto(
  packet: PacketInit,
  target: Uint8Array,
  offset = 0,
  options?: PacketEncodeOptions,
): number {
  const payload = checkPacket(packet);
  const size = HEADER_SIZE + payload.length;
  if (!Number.isInteger(offset) || offset < 0 || offset + size > target.length) {
    throw wireError(
      WireErrorCode.OUT_OF_RANGE,
      `a ${size}-byte packet does not fit at offset ${offset} of a ${target.length}-byte target`,
    );
  }
  writePacket(target, offset, packet, payload, options?.checksum !== false);
  return size;
}

/**
 * Decodes and verifies one packet. Bytes past the announced payload length are ignored, as the
 * reference ignores them (they are not covered by the checksum either): a datagram may carry padding.
 * The payload is a view of `bytes`. Errors: WIRE_TRUNCATED, WIRE_BAD_CHECKSUM, WIRE_BAD_VERSION, in
 * that order of checking. Any protocol byte is accepted. `{ verifyChecksum: false }` skips the CRC
 * (and so WIRE_BAD_CHECKSUM) for bytes an AEAD already authenticated; truncation and version are
 * still checked.
 */
export function decodePacket(bytes: Uint8Array, options?: PacketDecodeOptions): Packet {
  return readPacket(bytes, 0, bytes.length, options?.verifyChecksum !== false);
}

/**
 * The packet codec, for structures that embed a packet. `decode` consumes exactly header + payload
 * length and leaves any following bytes to the caller.
 */
export const packet: Codec<PacketInit> & { decode(state: State): Packet } = {
  preencode(state, value) {
    state.end += packetSize(value);
  },
  encode(state, value) {
    const payload = checkPacket(value);
    if (state.buffer.length - state.start < HEADER_SIZE + payload.length) {
      throw wireError(WireErrorCode.OUT_OF_RANGE, 'packet does not fit the buffer');
    }
    writePacket(state.buffer, state.start, value, payload);
    state.start += HEADER_SIZE + payload.length;
  },
  decode(state) {
    const value = readPacket(state.buffer, state.start, state.end);
    state.start += HEADER_SIZE + value.payload.length;
    return value;
  },
};

/** True when `flags` has every bit of `flag` set. */
export function hasFlag(flags: number, flag: number): boolean {
  return (flags & flag) === flag;
}
