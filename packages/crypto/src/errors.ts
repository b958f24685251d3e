import { PilotError } from '@pilot/wire';

/** The crypto package's error codes. Values are part of the public API: never rename them. */
export const CryptoErrorCode = {
  /** A key, seed or nonce prefix has the wrong length or type, or X25519 produced an all-zero secret. */
  BAD_KEY: 'CRYPTO_BAD_KEY',
  /** AES-GCM authentication failed: the frame was forged, corrupted, or sealed under another key. */
  BAD_TAG: 'CRYPTO_BAD_TAG',
  /** An Ed25519 signature does not verify. */
  BAD_SIGNATURE: 'CRYPTO_BAD_SIGNATURE',
  /** A PILA frame carries an Ed25519 key other than the one the registry holds for that node. */
  KEY_MISMATCH: 'CRYPTO_KEY_MISMATCH',
  /** A sealed frame's counter was already accepted, is 0, or lies below the replay window. */
  REPLAY: 'CRYPTO_REPLAY',
  /** A nonce sequence has used its last counter (2^64 - 1); the tunnel must be rekeyed. */
  NONCE_EXHAUSTED: 'CRYPTO_NONCE_EXHAUSTED',
  /** An identity file is not the daemon's JSON, has bad base64 or lengths, or its halves disagree. */
  BAD_IDENTITY: 'CRYPTO_BAD_IDENTITY',
  /** A PILS or PILA frame is truncated, has the wrong magic, or is otherwise malformed. */
  BAD_FRAME: 'CRYPTO_BAD_FRAME',
  /** A sealed frame names a sender other than the peer this opener belongs to. */
  UNEXPECTED_SENDER: 'CRYPTO_UNEXPECTED_SENDER',
  /** A message or packet argument is not a Uint8Array. */
  BAD_INPUT: 'CRYPTO_BAD_INPUT',
  /** A node ID or counter is outside its range. */
  OUT_OF_RANGE: 'CRYPTO_OUT_OF_RANGE',
  /** The `node` backend was asked for where node:crypto is not available (a browser). */
  BACKEND_UNAVAILABLE: 'CRYPTO_BACKEND_UNAVAILABLE',
} as const;

export type CryptoErrorCode = (typeof CryptoErrorCode)[keyof typeof CryptoErrorCode];

/** Builds a PilotError carrying one of the crypto codes. */
export function cryptoError(code: CryptoErrorCode, message: string, cause?: unknown): PilotError {
  return new PilotError(code, message, cause === undefined ? undefined : { cause });
}
