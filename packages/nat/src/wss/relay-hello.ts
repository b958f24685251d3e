import { type Identity, sign, verify } from '@pilot/crypto';
import { NatErrorCode, natError } from '../errors.js';

/**
 * The TLS relay's own three messages, before any relayed frame (the WebSocket's first binary
 * messages each way):
 *
 * ```
 * relay → node   challenge  [0x70][32-byte nonce]
 * node  → relay  hello      [0x71][u32 BE node][64-byte Ed25519 signature]
 * relay → node   welcome    [0x72]
 * ```
 *
 * The signature is over the ASCII text `pilot_wss_hello:<node>:<nonce as lowercase hex>` with the
 * node's registry key: only the node itself gets the frames relayed to it, and a hello cannot be
 * replayed (the nonce is fresh per connection). Afterwards the node sends beacon `relay` messages
 * (0x05, source = its node) and receives `relayDeliver` messages (0x06), spec §4 byte for byte.
 */
export const RelayHelloType = { CHALLENGE: 0x70, HELLO: 0x71, WELCOME: 0x72 } as const;

export const RELAY_NONCE_SIZE: number = 32;
export const RELAY_HELLO_SIZE: number = 1 + 4 + 64;

export function encodeRelayChallenge(nonce: Uint8Array): Uint8Array {
  if (nonce.length !== RELAY_NONCE_SIZE)
    throw natError(NatErrorCode.OUT_OF_RANGE, `nonce must be ${RELAY_NONCE_SIZE} bytes, got ${nonce.length}`);
  const out = new Uint8Array(1 + RELAY_NONCE_SIZE);
  out[0] = RelayHelloType.CHALLENGE;
  out.set(nonce, 1);
  return out;
}

/** The nonce of a challenge; throws NAT_RELAY_REFUSED on anything else. */
export function decodeRelayChallenge(bytes: Uint8Array): Uint8Array {
  if (bytes.length !== 1 + RELAY_NONCE_SIZE || bytes[0] !== RelayHelloType.CHALLENGE)
    throw natError(NatErrorCode.RELAY_REFUSED, `expected the relay's challenge, got ${bytes.length} bytes`);
  return bytes.slice(1);
}

function helloText(node: number, nonce: Uint8Array): Uint8Array {
  return new TextEncoder().encode(`pilot_wss_hello:${node}:${Buffer.from(nonce).toString('hex')}`);
}

export function encodeRelayHello(identity: Identity, node: number, nonce: Uint8Array): Uint8Array {
  if (!Number.isInteger(node) || node <= 0 || node > 0xffffffff)
    throw natError(NatErrorCode.OUT_OF_RANGE, `node ${node} is not a u32 above 0`);
  const out = new Uint8Array(RELAY_HELLO_SIZE);
  out[0] = RelayHelloType.HELLO;
  new DataView(out.buffer).setUint32(1, node);
  out.set(sign(identity, helloText(node, nonce)), 5);
  return out;
}

export interface RelayHello {
  readonly node: number;
  readonly signature: Uint8Array;
}

/** A hello's fields, or undefined if the bytes are not one. Never throws. */
export function decodeRelayHello(bytes: Uint8Array): RelayHello | undefined {
  if (bytes.length !== RELAY_HELLO_SIZE || bytes[0] !== RelayHelloType.HELLO) return undefined;
  const node = new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getUint32(1);
  if (node === 0) return undefined;
  return { node, signature: bytes.slice(5) };
}

/** Whether `hello` was signed by `publicKey` for this connection's nonce. */
export function checkRelayHello(hello: RelayHello, nonce: Uint8Array, publicKey: Uint8Array): boolean {
  return verify(hello.signature, helloText(hello.node, nonce), publicKey);
}

export const RELAY_WELCOME: Uint8Array = Uint8Array.of(RelayHelloType.WELCOME);
