import { equalBytes } from './_bytes.js';
import type { X25519KeyPair } from './key-agreement.js';

/**
 * Who holds which ephemeral key, per peer: the state machine of the forward-secret handshake as
 * pure functions (no clock, no sockets, no randomness: the caller passes a key generator), so
 * every interleaving can be tested as data. (The one side effect: private keys are zeroed in place
 * when they are done with.)
 *
 * Every PILA a pilot-ts peer sends carries, in its PILX, its current ephemeral key for that peer
 * and an echo of the peer's ephemeral key it last saw. Both ends derive the session from the pair
 * (our current ephemeral, the peer's ephemeral). 1 RTT: the first side's PILA carries its key, the
 * answer carries the other's and echoes the first, and each side derives as soon as it has the
 * other's key.
 *
 * Our key is *confirmed* once the peer echoes it beside the key we paired it with: then the peer
 * holds the same session, and our private key is zeroed (forward secrecy from here on). Until then
 * it is kept, so that whichever of the peer's keys turns out to be the one the peer pairs with ours
 * (messages cross, arrive late, get lost) can still be paired. Rules on a peer's newer PILX (E, echo):
 * - echo is our current key: the peer holds (E, ours). Same E as paired: confirmed. Another E:
 *   derive (ours, E), confirmed — or, if our private key is gone (confirmed earlier: the peer
 *   started a rekey), take a fresh key, derive, and answer.
 * - otherwise the peer lacks our current key: answer; and if E is new, derive (ours, E) unconfirmed,
 *   first taking a fresh key when ours was confirmed already (a new session never reuses one).
 * Crossing first PILAs, crossing rekeys, late and lost messages converge (see the tests); a PILX not
 * newer than the last accepted from that peer is `stale` (a replay) and changes nothing.
 */
export interface EphemeralHandshake {
  /** Our current ephemeral key for this peer; its private half is dropped (zeroed) once confirmed. */
  readonly ours: EphemeralKey | undefined;
  /** The peer's ephemeral key our current one was paired with (a session was derived), if any. */
  readonly pairedWith: Uint8Array | undefined;
  /** The peer has echoed our current key beside `pairedWith`: it holds the same session. */
  readonly confirmed: boolean;
  /** The newest PILX timestamp accepted from the peer (-1n: none). */
  readonly peerTimestamp: bigint;
}

/** An ephemeral key; `privateKey` is undefined once confirmed (and wiped). */
export interface EphemeralKey {
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array | undefined;
}

/** What a peer's PILX said, as `verifyPilaExtension` returns it. */
export interface PeerEphemeral {
  readonly ephemeral: Uint8Array | undefined;
  readonly echo: Uint8Array | undefined;
  readonly timestamp: bigint;
}

/** The outcome of `receiveEphemeral`. */
export interface HandshakeStep {
  readonly state: EphemeralHandshake;
  /**
   * Derive a session from these. The private key is a copy the caller zeroes after deriving (the
   * state keeps its own until confirmation).
   */
  readonly derive: { readonly ours: X25519KeyPair; readonly peer: Uint8Array } | undefined;
  /** Send our PILA + PILX back: the peer does not have our current key yet. */
  readonly reply: boolean;
  /** The peer holds the session of (ours, pairedWith): seal with it. */
  readonly confirmed: boolean;
  /** The PILX was not newer than the last accepted one (a replay): nothing changed. */
  readonly stale: boolean;
}

/** The state before anything was exchanged with a peer. */
export function newEphemeralHandshake(): EphemeralHandshake {
  return { ours: undefined, pairedWith: undefined, confirmed: false, peerTimestamp: -1n };
}

function fresh(state: EphemeralHandshake, generate: () => X25519KeyPair): EphemeralHandshake {
  state.ours?.privateKey?.fill(0);
  const pair = generate();
  return {
    ...state,
    ours: { publicKey: pair.publicKey, privateKey: pair.privateKey },
    pairedWith: undefined,
    confirmed: false,
  };
}

/** The state with a current ephemeral key for us (a fresh one only when there is none yet). */
export function ensureOurEphemeral(
  state: EphemeralHandshake,
  generate: () => X25519KeyPair,
): EphemeralHandshake {
  return state.ours === undefined ? fresh(state, generate) : state;
}

/**
 * A rekey we start (byte or time budget spent): a fresh ephemeral key of ours, to be sent in our
 * next PILX; the session in use stays until the peer answers. The previous key's private half, if
 * still held, is zeroed.
 */
export function startRekey(state: EphemeralHandshake, generate: () => X25519KeyPair): EphemeralHandshake {
  return fresh(state, generate);
}

/** Zeroes every private key the state holds (a peer forgotten, the tunnel closed). */
export function wipeHandshake(state: EphemeralHandshake): void {
  state.ours?.privateKey?.fill(0);
}

function confirm(state: EphemeralHandshake): EphemeralHandshake {
  const ours = state.ours;
  ours?.privateKey?.fill(0);
  return {
    ...state,
    ours: ours === undefined ? undefined : { publicKey: ours.publicKey, privateKey: undefined },
    confirmed: true,
  };
}

/**
 * The peer sealed a frame under the session of (ours, pairedWith) — proof it holds that session —
 * so our key is confirmed (and its private half zeroed) without waiting for a PILX echo.
 */
export function confirmPairing(state: EphemeralHandshake): EphemeralHandshake {
  return state.pairedWith === undefined || state.confirmed ? state : confirm(state);
}

const same = (a: Uint8Array | undefined, b: Uint8Array | undefined): boolean =>
  a !== undefined && b !== undefined && equalBytes(a, b);

/** A verified PILX from the peer; see the rules above. */
export function receiveEphemeral(
  state: EphemeralHandshake,
  message: PeerEphemeral,
  generate: () => X25519KeyPair,
): HandshakeStep {
  const quiet = (next: EphemeralHandshake, stale: boolean): HandshakeStep => ({
    state: next,
    derive: undefined,
    reply: false,
    confirmed: false,
    stale,
  });
  if (message.timestamp <= state.peerTimestamp) return quiet(state, true);
  let next: EphemeralHandshake = { ...state, peerTimestamp: message.timestamp };
  const peerKey = message.ephemeral;
  if (peerKey === undefined) return quiet(next, false);
  const pairWith = (current: EphemeralHandshake): { ours: X25519KeyPair; peer: Uint8Array } => {
    const ours = current.ours as EphemeralKey & { privateKey: Uint8Array };
    return {
      ours: { publicKey: ours.publicKey, privateKey: Uint8Array.from(ours.privateKey) },
      peer: peerKey,
    };
  };

  if (same(message.echo, next.ours?.publicKey)) {
    // The peer holds (its key, our current key).
    if (same(peerKey, next.pairedWith)) {
      const wasConfirmed = next.confirmed;
      next = confirm(next);
      return { state: next, derive: undefined, reply: false, confirmed: !wasConfirmed, stale: false };
    }
    if (next.ours?.privateKey !== undefined) {
      const derive = pairWith(next);
      next = confirm({ ...next, pairedWith: peerKey });
      return { state: next, derive, reply: false, confirmed: true, stale: false };
    }
    // Our key was confirmed with an older peer key: the peer started a rekey. Answer with a new key.
    next = fresh(next, generate);
    const derive = pairWith(next);
    next = { ...next, pairedWith: peerKey };
    return { state: next, derive, reply: true, confirmed: false, stale: false };
  }

  // The peer does not have our current key.
  if (same(peerKey, next.pairedWith)) {
    return { state: next, derive: undefined, reply: true, confirmed: false, stale: false };
  }
  if (next.ours === undefined || next.ours.privateKey === undefined) next = fresh(next, generate);
  const derive = pairWith(next);
  next = { ...next, pairedWith: peerKey, confirmed: false };
  return { state: next, derive, reply: true, confirmed: false, stale: false };
}
