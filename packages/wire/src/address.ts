import { need } from './_state.js';
import { type Codec, checkU16, checkU32, type State } from './codec.js';
import { WireErrorCode, wireError } from './errors.js';

/** A 48-bit Pilot address: a 16-bit network ID and a 32-bit node ID. */
export type Address = { readonly network: number; readonly node: number };

/** An address with a 16-bit port, as written `0:0000.0000.0005:1000`. */
export type SocketAddress = { readonly address: Address; readonly port: number };

/** Size of an address on the wire: `[u16 network][u32 node]`. */
export const ADDRESS_SIZE = 6;

/** The node ID that means "every node of the network". */
export const BROADCAST_NODE = 0xffff_ffff;

/** `0:0000.0000.0000`, the unspecified address. */
export const UNSPECIFIED: Address = Object.freeze({ network: 0, node: 0 });
/** The registry's reserved name, node 1 on the backbone. */
export const REGISTRY: Address = Object.freeze({ network: 0, node: 1 });
/** The beacon's reserved name, node 2 on the backbone. */
export const BEACON: Address = Object.freeze({ network: 0, node: 2 });
/** The nameserver's reserved name, node 3 on the backbone. */
export const NAMESERVER: Address = Object.freeze({ network: 0, node: 3 });

/** Throws WIRE_OUT_OF_RANGE unless `address` has a u16 network and a u32 node. */
export function checkAddress(address: Address, what = 'address'): void {
  // Tested inline so that the field names are only spelled out when there is an error to report.
  const { network, node } = address;
  if ((network & 0xffff) !== network) checkU16(network, `${what}.network`);
  if (node >>> 0 !== node) checkU32(node, `${what}.node`);
}

/** The broadcast address of `network` (`N:NNNN.FFFF.FFFF`). */
export function broadcastAddress(network: number): Address {
  checkU16(network, 'network');
  return { network, node: BROADCAST_NODE };
}

/** True when `address` is a broadcast address (node 0xFFFFFFFF on any network). */
export function isBroadcast(address: Address): boolean {
  return address.node === BROADCAST_NODE;
}

/** True when both addresses name the same network and node. */
export function addressEquals(a: Address, b: Address): boolean {
  return a.network === b.network && a.node === b.node;
}

function badAddress(text: string, why: string): never {
  throw wireError(WireErrorCode.BAD_ADDRESS, `invalid address ${JSON.stringify(text)}: ${why}`);
}

// Decimal network without sign, exponent or leading "+", then three groups of exactly four hex digits.
const ADDRESS_TEXT = /^(\d{1,5}):([0-9A-Fa-f]{4})\.([0-9A-Fa-f]{4})\.([0-9A-Fa-f]{4})$/;

/**
 * Parses `N:NNNN.HHHH.LLLL`. N is decimal and must equal the hex group NNNN (the redundancy check
 * the reference applies, which rejects the draft's own `1:00A3.F291.0004`); hex is accepted in either
 * case. Anything else is WIRE_BAD_ADDRESS. Leading zeros in N are accepted, as a decimal parser
 * would; the value still has to match NNNN.
 */
export function parseAddress(text: string): Address {
  if (typeof text !== 'string') badAddress(String(text), 'not a string');
  const match = ADDRESS_TEXT.exec(text);
  if (match === null) badAddress(text, 'expected N:NNNN.HHHH.LLLL');
  const network = Number.parseInt(match[1]!, 10);
  if (network > 0xffff) badAddress(text, 'network must be in 0..65535');
  const hexNetwork = Number.parseInt(match[2]!, 16);
  if (hexNetwork !== network) {
    badAddress(text, `decimal network ${network} disagrees with hex network 0x${match[2]!}`);
  }
  const node = ((Number.parseInt(match[3]!, 16) << 16) | Number.parseInt(match[4]!, 16)) >>> 0;
  return { network, node };
}

const HEX = '0123456789ABCDEF';

function hex4(value: number): string {
  return HEX[(value >>> 12) & 15]! + HEX[(value >>> 8) & 15]! + HEX[(value >>> 4) & 15]! + HEX[value & 15]!;
}

/** `N:NNNN.HHHH.LLLL` in upper case. Out-of-range fields are WIRE_OUT_OF_RANGE. */
export function formatAddress(address: Address): string {
  checkAddress(address);
  const { network, node } = address;
  return `${network}:${hex4(network)}.${hex4(node >>> 16)}.${hex4(node & 0xffff)}`;
}

const PORT_TEXT = /^\d{1,5}$/;

/**
 * Parses `N:NNNN.HHHH.LLLL:port` (split at the last colon, as the reference does); the port is
 * decimal 0..65535. Malformed text is WIRE_BAD_ADDRESS.
 */
export function parseSocketAddress(text: string): SocketAddress {
  if (typeof text !== 'string') badAddress(String(text), 'not a string');
  const colon = text.lastIndexOf(':');
  if (colon < 0) badAddress(text, 'expected N:NNNN.HHHH.LLLL:port');
  const portText = text.slice(colon + 1);
  if (!PORT_TEXT.test(portText)) badAddress(text, 'port must be decimal');
  const port = Number.parseInt(portText, 10);
  if (port > 0xffff) badAddress(text, 'port must be in 0..65535');
  return { address: parseAddress(text.slice(0, colon)), port };
}

/** `N:NNNN.HHHH.LLLL:port`. Out-of-range fields are WIRE_OUT_OF_RANGE. */
export function formatSocketAddress(socket: SocketAddress): string {
  checkU16(socket.port, 'port');
  return `${formatAddress(socket.address)}:${socket.port}`;
}

function writeAddress(out: Uint8Array, at: number, value: Address): void {
  const { network, node } = value;
  out[at] = network >>> 8;
  out[at + 1] = network;
  out[at + 2] = node >>> 24;
  out[at + 3] = node >>> 16;
  out[at + 4] = node >>> 8;
  out[at + 5] = node;
}

function readAddress(bytes: Uint8Array, at: number): Address {
  return {
    network: (bytes[at]! << 8) | bytes[at + 1]!,
    node: ((bytes[at + 2]! << 24) | (bytes[at + 3]! << 16) | (bytes[at + 4]! << 8) | bytes[at + 5]!) >>> 0,
  };
}

/** The codec of an address: `[u16 network][u32 node]`, big-endian. */
export const address: Codec<Address> = {
  preencode(state: State) {
    state.end += ADDRESS_SIZE;
  },
  encode(state: State, value: Address) {
    checkAddress(value);
    writeAddress(state.buffer, state.start, value);
    state.start += ADDRESS_SIZE;
  },
  decode(state: State): Address {
    need(state, ADDRESS_SIZE, 'address');
    const at = state.start;
    state.start = at + ADDRESS_SIZE;
    return readAddress(state.buffer, at);
  },
};

/** The 6 wire bytes of `address`. */
export function encodeAddress(value: Address): Uint8Array {
  checkAddress(value);
  const out = new Uint8Array(ADDRESS_SIZE);
  writeAddress(out, 0, value);
  return out;
}

/**
 * The address held in exactly 6 bytes: fewer is WIRE_TRUNCATED, more is WIRE_LENGTH_MISMATCH. To read
 * an address from inside a larger structure, use the `address` codec.
 */
export function decodeAddress(bytes: Uint8Array): Address {
  if (bytes.length < ADDRESS_SIZE) {
    throw wireError(WireErrorCode.TRUNCATED, `address needs ${ADDRESS_SIZE} bytes, ${bytes.length} given`);
  }
  if (bytes.length !== ADDRESS_SIZE) {
    throw wireError(WireErrorCode.LENGTH_MISMATCH, `address is ${ADDRESS_SIZE} bytes, ${bytes.length} given`);
  }
  return readAddress(bytes, 0);
}
