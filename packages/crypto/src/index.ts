export {
  createAuthKeyExchange,
  type VerifiedAuthKeyExchange,
  verifyAuthKeyExchange,
} from './auth-key-exchange.js';
export type { Aead, BackendName, BackendOptions, CryptoBackend } from './backend.js';
export { ContextBudget } from './context-budget.js';
export {
  confirmPairing,
  type EphemeralHandshake,
  type EphemeralKey,
  ensureOurEphemeral,
  type HandshakeStep,
  newEphemeralHandshake,
  type PeerEphemeral,
  receiveEphemeral,
  startRekey,
  wipeHandshake,
} from './ephemeral-handshake.js';
export { CryptoErrorCode } from './errors.js';
export {
  createVerifier,
  ED25519_PUBLIC_KEY_BYTES,
  ED25519_SEED_SIZE,
  ED25519_SIGNATURE_BYTES,
  generateIdentity,
  type Identity,
  identityFromSeed,
  sign,
  type Verifier,
  verify,
} from './identity.js';
export { decodeIdentityFile, encodeIdentityFile } from './identity-file.js';
export {
  deriveTunnelKey,
  generateX25519KeyPair,
  hkdfSha256,
  TUNNEL_KEY_INFO,
  TUNNEL_KEY_SIZE,
  X25519_KEY_SIZE,
  type X25519KeyPair,
  x25519PublicKey,
  x25519SharedSecret,
} from './key-agreement.js';
export {
  NONCE_BYTES,
  NONCE_PREFIX_SIZE,
  NonceSequence,
  type NonceSequenceOptions,
} from './nonce-sequence.js';
export { appendPilaExtension, type VerifiedPilaExtension, verifyPilaExtension } from './pila-extension.js';
export { REPLAY_WINDOW_SIZE, ReplayWindow } from './replay-window.js';
export { availableBackends, cryptoBackend, getCryptoBackend } from './select-backend.js';
export {
  deriveSessionKeys,
  SESSION_KEY_INFO,
  SESSION_TRANSCRIPT_LABEL,
  type SessionKeyInput,
  type SessionKeys,
  wipeSessionKeys,
} from './session-keys.js';
export {
  createTunnelOpener,
  type OpenedFrame,
  type TunnelOpener,
  type TunnelOpenerOptions,
} from './tunnel-opener.js';
export {
  createTunnelSealer,
  SEALED_FRAME_OVERHEAD,
  type TunnelSealer,
  type TunnelSealerOptions,
} from './tunnel-sealer.js';
