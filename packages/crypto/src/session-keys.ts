import { checkBytes, checkU32, readU32 } from './_bytes.js';
import type { BackendOptions } from './backend.js';
import { CryptoErrorCode, cryptoError } from './errors.js';
import {
  hkdfSha256,
  TUNNEL_KEY_SIZE,
  X25519_KEY_SIZE,
  type X25519KeyPair,
  x25519SharedSecret,
} from './key-agreement.js';

/** Info of the forward-secret session's HKDF (pilot-ts only; reference peers keep `pilot-tunnel-v1`). */
export const SESSION_KEY_INFO = 'pilot-ts fs v1 keys';
/** The label that opens the transcript used as the HKDF salt. */
export const SESSION_TRANSCRIPT_LABEL = 'pilot-ts fs v1';

const INFO = new TextEncoder().encode(SESSION_KEY_INFO);
const LABEL = new TextEncoder().encode(SESSION_TRANSCRIPT_LABEL);
/** Two keys and two 4-byte key IDs. */
const OKM_SIZE = 2 * TUNNEL_KEY_SIZE + 8;

/** What `deriveSessionKeys` needs: both ends' static and ephemeral X25519 keys and node IDs. */
export interface SessionKeyInput {
  readonly ourNode: number;
  readonly peerNode: number;
  /** Our static (daemon) X25519 key pair: the one our PILA carries. */
  readonly ourStatic: X25519KeyPair;
  /** The peer's static X25519 key, from its verified PILA. */
  readonly peerStatic: Uint8Array;
  /** Our ephemeral key pair for this session. */
  readonly ourEphemeral: X25519KeyPair;
  /** The peer's ephemeral key, from its verified PILX. */
  readonly peerEphemeral: Uint8Array;
}

/** The keys of one forward-secret session, one per direction. */
export interface SessionKeys {
  /** AES-256-GCM key of our frames to the peer. */
  readonly sendKey: Uint8Array;
  /** AES-256-GCM key of the peer's frames to us. */
  readonly receiveKey: Uint8Array;
  /**
   * The key ID of our direction: the 4-byte nonce prefix of our frames (as a u32), so the receiver
   * picks the session's key by the frame's prefix while an old and a new session overlap.
   */
  readonly sendId: number;
  /** The key ID (nonce prefix) of the peer's frames under this session. */
  readonly receiveId: number;
}

/**
 * The keys of a forward-secret session between two pilot-ts peers, a Noise-IK-like mix of four
 * X25519 results: ee (ephemeral–ephemeral: what the static keys alone can never recompute), the two
 * static–ephemeral ones, and ss (static–static, what today's tunnel key rests on), so the session is
 * at least as strong as the spec's static key and forward-secret once the ephemeral private keys
 * are gone. Roles come from the node IDs (the lower ID is "low"), so both ends compute the same
 * bytes whoever spoke first:
 *
 * - transcript = "pilot-ts fs v1" ‖ u32 low ‖ u32 high ‖ S_low ‖ S_high ‖ E_low ‖ E_high (the HKDF salt)
 * - ikm = DH(e_low, e_high) ‖ DH(e_low, s_high) ‖ DH(s_low, e_high) ‖ DH(s_low, s_high)
 * - okm = HKDF-SHA256(ikm, transcript, "pilot-ts fs v1 keys", 72) =
 *   key low→high (32) ‖ key high→low (32) ‖ id low→high (4) ‖ id high→low (4)
 *
 * Equal node IDs are CRYPTO_OUT_OF_RANGE; wrong lengths or a low-order peer key CRYPTO_BAD_KEY.
 * The intermediate secrets are zeroed before returning; the caller wipes the ephemeral private key
 * and, later, the returned keys (`wipeSessionKeys`).
 */
export function deriveSessionKeys(input: SessionKeyInput, options?: BackendOptions): SessionKeys {
  checkU32(input.ourNode, 'ourNode');
  checkU32(input.peerNode, 'peerNode');
  if (input.ourNode === input.peerNode) {
    throw cryptoError(CryptoErrorCode.OUT_OF_RANGE, 'a session needs two different node IDs');
  }
  checkBytes(input.peerStatic, X25519_KEY_SIZE, 'peerStatic');
  checkBytes(input.peerEphemeral, X25519_KEY_SIZE, 'peerEphemeral');
  checkBytes(input.ourStatic.publicKey, X25519_KEY_SIZE, 'ourStatic.publicKey');
  checkBytes(input.ourEphemeral.publicKey, X25519_KEY_SIZE, 'ourEphemeral.publicKey');
  const weAreLow = input.ourNode < input.peerNode;

  const transcript = new Uint8Array(LABEL.length + 8 + 4 * X25519_KEY_SIZE);
  const view = new DataView(transcript.buffer);
  let at = LABEL.length;
  transcript.set(LABEL, 0);
  view.setUint32(at, weAreLow ? input.ourNode : input.peerNode);
  view.setUint32(at + 4, weAreLow ? input.peerNode : input.ourNode);
  at += 8;
  const [sLow, sHigh] = weAreLow
    ? [input.ourStatic.publicKey, input.peerStatic]
    : [input.peerStatic, input.ourStatic.publicKey];
  const [eLow, eHigh] = weAreLow
    ? [input.ourEphemeral.publicKey, input.peerEphemeral]
    : [input.peerEphemeral, input.ourEphemeral.publicKey];
  for (const key of [sLow, sHigh, eLow, eHigh]) {
    transcript.set(key, at);
    at += X25519_KEY_SIZE;
  }

  const ee = x25519SharedSecret(input.ourEphemeral.privateKey, input.peerEphemeral, options);
  // e_low·s_high: the low side uses its ephemeral with the peer's static, the high side its static
  // with the peer's ephemeral; the same value either way.
  const eLowSHigh = weAreLow
    ? x25519SharedSecret(input.ourEphemeral.privateKey, input.peerStatic, options)
    : x25519SharedSecret(input.ourStatic.privateKey, input.peerEphemeral, options);
  const sLowEHigh = weAreLow
    ? x25519SharedSecret(input.ourStatic.privateKey, input.peerEphemeral, options)
    : x25519SharedSecret(input.ourEphemeral.privateKey, input.peerStatic, options);
  const ss = x25519SharedSecret(input.ourStatic.privateKey, input.peerStatic, options);
  const ikm = new Uint8Array(4 * X25519_KEY_SIZE);
  ikm.set(ee, 0);
  ikm.set(eLowSHigh, 32);
  ikm.set(sLowEHigh, 64);
  ikm.set(ss, 96);
  for (const secret of [ee, eLowSHigh, sLowEHigh, ss]) secret.fill(0);

  const okm = hkdfSha256(ikm, transcript, INFO, OKM_SIZE, options);
  ikm.fill(0);
  const lowToHigh = okm.slice(0, 32);
  const highToLow = okm.slice(32, 64);
  const idLowToHigh = readU32(okm, 64);
  const idHighToLow = readU32(okm, 68);
  okm.fill(0);
  return weAreLow
    ? { sendKey: lowToHigh, receiveKey: highToLow, sendId: idLowToHigh, receiveId: idHighToLow }
    : { sendKey: highToLow, receiveKey: lowToHigh, sendId: idHighToLow, receiveId: idLowToHigh };
}

/**
 * Zeroes the key bytes of a session (and of anything else given). What JavaScript can reach is
 * wiped; copies inside OpenSSL contexts (node:crypto KeyObjects, the native addon's GCM context)
 * go when the sealer and opener holding them are collected.
 */
export function wipeSessionKeys(keys: SessionKeys, ...more: Uint8Array[]): void {
  keys.sendKey.fill(0);
  keys.receiveKey.fill(0);
  for (const bytes of more) bytes.fill(0);
}
