import {
  AUTH_KEY_EXCHANGE_SIZE,
  decodeCapabilities,
  decodePilaExtension,
  encodePilaExtensionTail,
  isPilotError,
  type PilaExtension,
  pilaExtensionSignedBytes,
  type TunnelCapabilityName,
} from '@pilot/wire';
import { checkBytes, copyBytes } from './_bytes.js';
import type { BackendOptions } from './backend.js';
import { CryptoErrorCode, cryptoError } from './errors.js';
import { ED25519_PUBLIC_KEY_BYTES, type Identity, sign, verify } from './identity.js';

/** A PILX whose signature checked out, with its byte fields copied out of the frame. */
export interface VerifiedPilaExtension extends PilaExtension {
  /** The capability names we know among the peer's bits. */
  readonly capabilityNames: readonly TunnelCapabilityName[];
}

/**
 * `pila` (a 136-byte PILA from `createAuthKeyExchange`) followed by a PILX carrying `extension`,
 * signed with `identity` (the same key as the PILA): the datagram a pilot-ts peer sends instead of
 * the bare PILA. A reference peer reads the first 136 bytes and ignores the rest.
 */
export function appendPilaExtension(
  identity: Identity,
  pila: Uint8Array,
  extension: PilaExtension,
  options?: BackendOptions,
): Uint8Array {
  checkBytes(pila, AUTH_KEY_EXCHANGE_SIZE, 'pila', CryptoErrorCode.BAD_FRAME);
  let tail: Uint8Array;
  try {
    tail = encodePilaExtensionTail(extension);
  } catch (error) {
    if (!isPilotError(error)) throw error;
    throw cryptoError(CryptoErrorCode.BAD_INPUT, `bad PILX fields: ${error.message}`, error);
  }
  const signature = sign(identity, pilaExtensionSignedBytes(pila, tail), options);
  const out = new Uint8Array(pila.length + tail.length + signature.length);
  out.set(pila, 0);
  out.set(tail, pila.length);
  out.set(signature, pila.length + tail.length);
  return out;
}

/**
 * The PILX of a received PILA datagram, checked against `ed25519PublicKey` (the key its PILA was
 * verified under): undefined when the frame carries none (a reference peer, or trailing bytes we
 * do not understand); CRYPTO_BAD_FRAME when a PILX is there but malformed; CRYPTO_BAD_SIGNATURE
 * when its signature does not verify (stripped or altered on the path, or another key's).
 * Verify the PILA itself first (`verifyAuthKeyExchange`): this checks only the extension.
 */
export function verifyPilaExtension(
  frame: Uint8Array,
  ed25519PublicKey: Uint8Array,
  options?: BackendOptions,
): VerifiedPilaExtension | undefined {
  checkBytes(ed25519PublicKey, ED25519_PUBLIC_KEY_BYTES, 'ed25519PublicKey');
  let decoded: ReturnType<typeof decodePilaExtension>;
  try {
    decoded = decodePilaExtension(frame);
  } catch (error) {
    if (!isPilotError(error)) throw error;
    throw cryptoError(CryptoErrorCode.BAD_FRAME, `malformed PILX: ${error.message}`, error);
  }
  if (decoded === undefined) return undefined;
  if (
    !verify(decoded.signature, pilaExtensionSignedBytes(frame, decoded.signedTail), ed25519PublicKey, options)
  ) {
    throw cryptoError(CryptoErrorCode.BAD_SIGNATURE, 'PILX signature does not verify');
  }
  return {
    capabilities: decoded.capabilities,
    capabilityNames: decodeCapabilities(decoded.capabilities),
    timestamp: decoded.timestamp,
    ephemeral: decoded.ephemeral === undefined ? undefined : copyBytes(decoded.ephemeral),
    echo: decoded.echo === undefined ? undefined : copyBytes(decoded.echo),
  };
}
