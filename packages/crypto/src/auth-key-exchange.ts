import {
  AUTH_KEY_EXCHANGE_SIZE,
  authKeyExchangeSignedBytes,
  decodeTunnelFrame,
  encodeTunnelFrame,
  isPilotError,
} from '@pilot/wire';
import { checkBytes, checkU32, copyBytes, equalBytes } from './_bytes.js';
import type { BackendOptions } from './backend.js';
import { CryptoErrorCode, cryptoError } from './errors.js';
import { ED25519_PUBLIC_KEY_BYTES, type Identity, sign, verify } from './identity.js';
import { X25519_KEY_SIZE } from './key-agreement.js';

/** What a verified PILA frame says. The arrays are copies, safe to keep after the datagram buffer is reused. */
export interface VerifiedAuthKeyExchange {
  readonly senderNode: number;
  readonly x25519PublicKey: Uint8Array;
  readonly ed25519PublicKey: Uint8Array;
}

/**
 * Our PILA frame (136 bytes): `"PILA" ‖ u32 nodeId ‖ X25519 public key ‖ Ed25519 public key ‖
 * signature`, the signature covering `"auth" ‖ u32 nodeId ‖ X25519 public key` (40 bytes, no colon).
 */
export function createAuthKeyExchange(
  identity: Identity,
  nodeId: number,
  x25519PublicKey: Uint8Array,
  options?: BackendOptions,
): Uint8Array {
  checkU32(nodeId, 'nodeId');
  checkBytes(x25519PublicKey, X25519_KEY_SIZE, 'x25519PublicKey');
  const signature = sign(identity, authKeyExchangeSignedBytes(nodeId, x25519PublicKey), options);
  return encodeTunnelFrame({
    kind: 'auth-key-exchange',
    senderNode: nodeId,
    x25519PublicKey,
    ed25519PublicKey: identity.publicKey,
    signature,
  });
}

/**
 * Checks a received PILA frame, as the reference does (§4.2): when `expectedEd25519PublicKey` (the
 * key the registry holds for that node) is given, the frame must carry exactly that key
 * (CRYPTO_KEY_MISMATCH otherwise; the caller may re-fetch once and retry, as the reference does);
 * then the signature must verify under it (CRYPTO_BAD_SIGNATURE). Without an expected key only the
 * signature is checked, which proves possession of the embedded key and nothing about who owns it.
 * Anything that is not a PILA frame of at least 136 bytes is CRYPTO_BAD_FRAME; bytes after the
 * 136th are ignored, as the reference ignores them (the signature does not cover them).
 */
export function verifyAuthKeyExchange(
  frame: Uint8Array,
  expectedEd25519PublicKey?: Uint8Array,
  options?: BackendOptions,
): VerifiedAuthKeyExchange {
  if (expectedEd25519PublicKey !== undefined) {
    checkBytes(expectedEd25519PublicKey, ED25519_PUBLIC_KEY_BYTES, 'expectedEd25519PublicKey');
  }
  if (!(frame instanceof Uint8Array))
    throw cryptoError(CryptoErrorCode.BAD_FRAME, 'a PILA frame must be a Uint8Array');
  let decoded: ReturnType<typeof decodeTunnelFrame>;
  try {
    decoded = decodeTunnelFrame(frame);
  } catch (error) {
    if (!isPilotError(error)) throw error;
    throw cryptoError(CryptoErrorCode.BAD_FRAME, `not a PILA frame: ${error.message}`, error);
  }
  if (decoded.kind !== 'auth-key-exchange') {
    throw cryptoError(
      CryptoErrorCode.BAD_FRAME,
      `expected a PILA frame (${AUTH_KEY_EXCHANGE_SIZE} bytes), got ${decoded.kind}`,
    );
  }
  if (
    expectedEd25519PublicKey !== undefined &&
    !equalBytes(decoded.ed25519PublicKey, expectedEd25519PublicKey)
  ) {
    throw cryptoError(
      CryptoErrorCode.KEY_MISMATCH,
      `PILA from node ${decoded.senderNode} carries an Ed25519 key other than the registered one`,
    );
  }
  const signed = authKeyExchangeSignedBytes(decoded.senderNode, decoded.x25519PublicKey);
  if (!verify(decoded.signature, signed, expectedEd25519PublicKey ?? decoded.ed25519PublicKey, options)) {
    throw cryptoError(
      CryptoErrorCode.BAD_SIGNATURE,
      `PILA from node ${decoded.senderNode} has a bad signature`,
    );
  }
  return {
    senderNode: decoded.senderNode,
    x25519PublicKey: copyBytes(decoded.x25519PublicKey),
    ed25519PublicKey: copyBytes(decoded.ed25519PublicKey),
  };
}
