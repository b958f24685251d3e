import { crc32, type IpEndpoint } from '@pilot/wire';
import { NatErrorCode, natError } from '../errors.js';
import {
  STUN_FINGERPRINT_XOR,
  STUN_HEADER_SIZE,
  STUN_MAGIC_COOKIE,
  StunAttributeType,
  type StunClass,
  UNDERSTOOD_ATTRIBUTES,
} from './constants.js';

/** One attribute as it sits in the message: its type and its value without padding. */
export interface StunAttribute {
  readonly type: number;
  readonly value: Uint8Array;
}

/** A STUN error: the code (300–699) and the reason phrase. */
export interface StunErrorCode {
  readonly code: number;
  readonly reason: string;
}

/** A decoded STUN message, with the attributes this package understands already parsed. */
export interface StunMessage {
  readonly method: number;
  readonly messageClass: StunClass;
  /** 12 bytes; 16 for a classic (RFC 3489, no magic cookie) message, cookie position included. */
  readonly transactionId: Uint8Array;
  /** True for an RFC 3489 message (no magic cookie): only accepted with `{ classic: true }`. */
  readonly classic: boolean;
  /** Every attribute in order, FINGERPRINT and unknown ones included; values are views of the input. */
  readonly attributes: readonly StunAttribute[];
  readonly xorMappedAddress?: IpEndpoint;
  readonly mappedAddress?: IpEndpoint;
  readonly software?: string;
  readonly errorCode?: StunErrorCode;
  /** True when a FINGERPRINT was present (and therefore verified). */
  readonly fingerprint: boolean;
  /** Comprehension-required attribute types (below 0x8000) this package does not understand. */
  readonly unknownRequired: readonly number[];
}

export interface DecodeStunOptions {
  /** Accept RFC 3489 messages, which lack the magic cookie (for classic clients). Default false. */
  readonly classic?: boolean;
}

/** What `encodeStunMessage` takes. */
export interface StunMessageInit {
  readonly method: number;
  readonly messageClass: StunClass;
  /** 12 bytes, or 16 for a classic message (written in place of cookie + ID). */
  readonly transactionId: Uint8Array;
  readonly attributes?: readonly StunAttribute[];
  /** Append a FINGERPRINT. Default false. */
  readonly fingerprint?: boolean;
}

const utf8 = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

function malformed(message: string): never {
  throw natError(NatErrorCode.STUN_MALFORMED, message);
}

function readU16(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! << 8) | bytes[offset + 1]!;
}

function readU32(bytes: Uint8Array, offset: number): number {
  return (
    ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>>
    0
  );
}

function writeU16(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value >>> 8;
  bytes[offset + 1] = value & 0xff;
}

function writeU32(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value >>> 24;
  bytes[offset + 1] = (value >>> 16) & 0xff;
  bytes[offset + 2] = (value >>> 8) & 0xff;
  bytes[offset + 3] = value & 0xff;
}

/** The 14-bit message type of a method and class (the class bits are interleaved, RFC 8489 §5). */
export function stunMessageType(method: number, messageClass: StunClass): number {
  return (
    (method & 0x000f) |
    ((method & 0x0070) << 1) |
    ((method & 0x0f80) << 2) |
    ((messageClass & 1) << 4) |
    ((messageClass & 2) << 7)
  );
}

function splitType(type: number): { method: number; messageClass: StunClass } {
  const method = (type & 0x000f) | ((type & 0x00e0) >>> 1) | ((type & 0x3e00) >>> 2);
  const messageClass = (((type >>> 4) & 1) | ((type >>> 7) & 2)) as StunClass;
  return { method, messageClass };
}

/**
 * A cheap demultiplexing test for a datagram on a shared socket: top two bits zero, a length that
 * is a multiple of 4 and fills the datagram, and (unless `classic`) the magic cookie at offset 4.
 */
export function isStunMessage(bytes: Uint8Array, options: DecodeStunOptions = {}): boolean {
  if (bytes.length < STUN_HEADER_SIZE || (bytes[0]! & 0xc0) !== 0) return false;
  const length = readU16(bytes, 2);
  if (length % 4 !== 0 || length + STUN_HEADER_SIZE !== bytes.length) return false;
  return options.classic === true || readU32(bytes, 4) === STUN_MAGIC_COOKIE;
}

function decodeAddressValue(value: Uint8Array, xorKey: Uint8Array | undefined, name: string): IpEndpoint {
  if (value.length < 4) malformed(`${name} of ${value.length} bytes`);
  const family = value[1];
  const ipLength =
    family === 0x01 ? 4 : family === 0x02 ? 16 : malformed(`${name} family 0x${(family ?? 0).toString(16)}`);
  if (value.length !== 4 + ipLength) malformed(`${name} of ${value.length} bytes for family ${family}`);
  let port = readU16(value, 2);
  const ip = value.slice(4, 4 + ipLength);
  if (xorKey !== undefined) {
    port ^= STUN_MAGIC_COOKIE >>> 16;
    for (let i = 0; i < ipLength; i++) ip[i] = ip[i]! ^ xorKey[i]!;
  }
  return { ip, port };
}

function xorKeyOf(transactionId: Uint8Array): Uint8Array {
  const key = new Uint8Array(16);
  writeU32(key, 0, STUN_MAGIC_COOKIE);
  key.set(transactionId.subarray(0, 12), 4);
  return key;
}

function fingerprintOf(bytes: Uint8Array): number {
  return (crc32(bytes) ^ STUN_FINGERPRINT_XOR) >>> 0;
}

/**
 * Decodes one STUN message from untrusted bytes. Throws only PilotError: NAT_NOT_STUN,
 * NAT_STUN_TRUNCATED, NAT_STUN_MALFORMED, NAT_STUN_BAD_FINGERPRINT. A FINGERPRINT must be last and
 * match; attributes after MESSAGE-INTEGRITY other than FINGERPRINT and MESSAGE-INTEGRITY-SHA256 are
 * ignored (RFC 8489 §14.5). MESSAGE-INTEGRITY is not verified (no credentials here).
 */
export function decodeStunMessage(bytes: Uint8Array, options: DecodeStunOptions = {}): StunMessage {
  if (bytes.length < STUN_HEADER_SIZE) {
    throw natError(NatErrorCode.STUN_TRUNCATED, `STUN header needs 20 bytes, got ${bytes.length}`);
  }
  if ((bytes[0]! & 0xc0) !== 0)
    throw natError(NatErrorCode.NOT_STUN, 'top two bits of a STUN message are zero');
  const classic = readU32(bytes, 4) !== STUN_MAGIC_COOKIE;
  if (classic && options.classic !== true) throw natError(NatErrorCode.NOT_STUN, 'no STUN magic cookie');
  const length = readU16(bytes, 2);
  if (length % 4 !== 0) malformed(`STUN length ${length} is not a multiple of 4`);
  if (STUN_HEADER_SIZE + length > bytes.length) {
    throw natError(
      NatErrorCode.STUN_TRUNCATED,
      `STUN message announces ${length} bytes, ${bytes.length - 20} follow`,
    );
  }
  if (STUN_HEADER_SIZE + length < bytes.length)
    malformed(`${bytes.length - 20 - length} bytes after the STUN message`);
  const { method, messageClass } = splitType(readU16(bytes, 0));
  const transactionId = bytes.subarray(classic ? 4 : 8, 20);
  const attributes: StunAttribute[] = [];
  const unknownRequired: number[] = [];
  let xorMappedAddress: IpEndpoint | undefined;
  let mappedAddress: IpEndpoint | undefined;
  let software: string | undefined;
  let errorCode: StunErrorCode | undefined;
  let fingerprint = false;
  let afterIntegrity = false;
  let offset = STUN_HEADER_SIZE;
  while (offset < bytes.length) {
    if (offset + 4 > bytes.length) malformed('attribute header overruns the message');
    const type = readU16(bytes, offset);
    const valueLength = readU16(bytes, offset + 2);
    const start = offset + 4;
    const padded = start + ((valueLength + 3) & ~3);
    if (padded > bytes.length)
      malformed(`attribute 0x${type.toString(16)} of ${valueLength} bytes overruns the message`);
    const value = bytes.subarray(start, start + valueLength);
    offset = padded;
    if (type === StunAttributeType.FINGERPRINT) {
      if (valueLength !== 4) malformed(`FINGERPRINT of ${valueLength} bytes`);
      if (offset !== bytes.length) malformed('FINGERPRINT is not the last attribute');
      // The CRC covers the message up to the attribute, with the header length as sent (it already
      // counts the FINGERPRINT, which is last).
      if (readU32(value, 0) !== fingerprintOf(bytes.subarray(0, start - 4))) {
        throw natError(NatErrorCode.STUN_BAD_FINGERPRINT, 'FINGERPRINT does not match the message');
      }
      fingerprint = true;
      attributes.push({ type, value });
      continue;
    }
    if (afterIntegrity && type !== StunAttributeType.MESSAGE_INTEGRITY_SHA256) continue;
    attributes.push({ type, value });
    switch (type) {
      case StunAttributeType.XOR_MAPPED_ADDRESS:
        if (classic) malformed('XOR-MAPPED-ADDRESS in a classic message');
        xorMappedAddress ??= decodeAddressValue(value, xorKeyOf(transactionId), 'XOR-MAPPED-ADDRESS');
        break;
      case StunAttributeType.MAPPED_ADDRESS:
        mappedAddress ??= decodeAddressValue(value, undefined, 'MAPPED-ADDRESS');
        break;
      case StunAttributeType.SOFTWARE:
        software ??= utf8.decode(value);
        break;
      case StunAttributeType.ERROR_CODE:
        if (valueLength < 4) malformed(`ERROR-CODE of ${valueLength} bytes`);
        errorCode ??= { code: (value[2]! & 7) * 100 + value[3]!, reason: utf8.decode(value.subarray(4)) };
        break;
      case StunAttributeType.MESSAGE_INTEGRITY:
        afterIntegrity = true;
        break;
      default:
        if (type < 0x8000 && !UNDERSTOOD_ATTRIBUTES.has(type)) unknownRequired.push(type);
    }
  }
  const message: StunMessage = {
    method,
    messageClass,
    transactionId,
    classic,
    attributes,
    fingerprint,
    unknownRequired,
    ...(xorMappedAddress === undefined ? {} : { xorMappedAddress }),
    ...(mappedAddress === undefined ? {} : { mappedAddress }),
    ...(software === undefined ? {} : { software }),
    ...(errorCode === undefined ? {} : { errorCode }),
  };
  return message;
}

function checkTransactionId(transactionId: Uint8Array, classic: boolean): void {
  const expected = classic ? 16 : 12;
  if (transactionId.length !== expected) {
    throw natError(
      NatErrorCode.OUT_OF_RANGE,
      `a transaction ID has ${expected} bytes, got ${transactionId.length}`,
    );
  }
}

/**
 * The bytes of a STUN message. A 12-byte transaction ID makes an RFC 8489 message (with the magic
 * cookie), a 16-byte one a classic RFC 3489 message. Values over 65531 bytes, a wrong transaction ID
 * length or a method over 0xfff are NAT_OUT_OF_RANGE.
 */
export function encodeStunMessage(init: StunMessageInit): Uint8Array {
  const classic = init.transactionId.length === 16;
  checkTransactionId(init.transactionId, classic);
  if (!Number.isInteger(init.method) || init.method < 0 || init.method > 0xfff) {
    throw natError(NatErrorCode.OUT_OF_RANGE, `STUN method ${init.method} is not 12 bits`);
  }
  const attributes = init.attributes ?? [];
  let size = STUN_HEADER_SIZE;
  for (const attribute of attributes) {
    if (attribute.value.length > 0xffff - 4) {
      throw natError(NatErrorCode.OUT_OF_RANGE, `attribute of ${attribute.value.length} bytes`);
    }
    size += 4 + ((attribute.value.length + 3) & ~3);
  }
  const withFingerprint = init.fingerprint === true;
  if (withFingerprint) size += 8;
  if (size - STUN_HEADER_SIZE > 0xffff)
    throw natError(NatErrorCode.OUT_OF_RANGE, `STUN message of ${size} bytes`);
  const bytes = new Uint8Array(size);
  writeU16(bytes, 0, stunMessageType(init.method, init.messageClass));
  writeU16(bytes, 2, size - STUN_HEADER_SIZE);
  if (classic) {
    bytes.set(init.transactionId, 4);
  } else {
    writeU32(bytes, 4, STUN_MAGIC_COOKIE);
    bytes.set(init.transactionId, 8);
  }
  let offset = STUN_HEADER_SIZE;
  for (const attribute of attributes) {
    writeU16(bytes, offset, attribute.type);
    writeU16(bytes, offset + 2, attribute.value.length);
    bytes.set(attribute.value, offset + 4);
    offset += 4 + ((attribute.value.length + 3) & ~3);
  }
  if (withFingerprint) {
    writeU16(bytes, offset, StunAttributeType.FINGERPRINT);
    writeU16(bytes, offset + 2, 4);
    writeU32(bytes, offset + 4, fingerprintOf(bytes.subarray(0, offset)));
  }
  return bytes;
}

function addressValue(endpoint: IpEndpoint, xorKey: Uint8Array | undefined): Uint8Array {
  const ipLength = endpoint.ip.length;
  if (ipLength !== 4 && ipLength !== 16) {
    throw natError(NatErrorCode.OUT_OF_RANGE, `an IP address has 4 or 16 bytes, got ${ipLength}`);
  }
  if (!Number.isInteger(endpoint.port) || endpoint.port < 0 || endpoint.port > 0xffff) {
    throw natError(NatErrorCode.OUT_OF_RANGE, `port ${endpoint.port}`);
  }
  const value = new Uint8Array(4 + ipLength);
  value[1] = ipLength === 4 ? 0x01 : 0x02;
  writeU16(value, 2, xorKey === undefined ? endpoint.port : endpoint.port ^ (STUN_MAGIC_COOKIE >>> 16));
  for (let i = 0; i < ipLength; i++) value[4 + i] = endpoint.ip[i]! ^ (xorKey?.[i] ?? 0);
  return value;
}

/** An XOR-MAPPED-ADDRESS attribute for `endpoint` in the message of `transactionId` (12 bytes). */
export function xorMappedAddressAttribute(endpoint: IpEndpoint, transactionId: Uint8Array): StunAttribute {
  checkTransactionId(transactionId, false);
  return {
    type: StunAttributeType.XOR_MAPPED_ADDRESS,
    value: addressValue(endpoint, xorKeyOf(transactionId)),
  };
}

/** A MAPPED-ADDRESS attribute (what RFC 3489 clients read). */
export function mappedAddressAttribute(endpoint: IpEndpoint): StunAttribute {
  return { type: StunAttributeType.MAPPED_ADDRESS, value: addressValue(endpoint, undefined) };
}

/** A SOFTWARE attribute; the text must be under 128 characters and 763 bytes (RFC 8489 §14.14). */
export function softwareAttribute(text: string): StunAttribute {
  const value = utf8Encoder.encode(text);
  if (text.length >= 128 || value.length > 763)
    throw natError(NatErrorCode.OUT_OF_RANGE, 'SOFTWARE is too long');
  return { type: StunAttributeType.SOFTWARE, value };
}

/** An ERROR-CODE attribute. */
export function errorCodeAttribute(code: number, reason: string): StunAttribute {
  if (!Number.isInteger(code) || code < 300 || code > 699)
    throw natError(NatErrorCode.OUT_OF_RANGE, `error code ${code}`);
  const text = utf8Encoder.encode(reason);
  const value = new Uint8Array(4 + text.length);
  value[2] = Math.floor(code / 100);
  value[3] = code % 100;
  value.set(text, 4);
  return { type: StunAttributeType.ERROR_CODE, value };
}

/** An UNKNOWN-ATTRIBUTES attribute listing `types`. */
export function unknownAttributesAttribute(types: readonly number[]): StunAttribute {
  const value = new Uint8Array(2 * types.length);
  for (let i = 0; i < types.length; i++) writeU16(value, 2 * i, types[i]! & 0xffff);
  return { type: StunAttributeType.UNKNOWN_ATTRIBUTES, value };
}

/** The size of an encoded attribute, header and padding included. */
export function stunAttributeSize(attribute: StunAttribute): number {
  return 4 + ((attribute.value.length + 3) & ~3);
}
