import { equalBytes } from './_bytes.js';
import type { X25519KeyPair } from './key-agreement.js';

/**
 * Who holds which ephemeral key, per peer: the state machine of the forward-secret handshake as
 * pure functions (no clock, no sockets, no randomness: the caller passes a key generator), so
 * every interleaving can be tested as data.
 *
 * Every PILA a pilot-ts peer sends carries, in its PILX, its current ephemeral key for that peer
 * and an echo of the peer's ephemeral key it last saw. Both ends derive the session from the pair
 * (our current ephemeral, the peer's ephemeral). 1 RTT: the first side's PILA carries its key, the
 * answer carries the other's, and each side derives as soon as it has the other's key.
 *
 * Rules on a peer's (newer) PILX with ephemeral key E:
 * - E is one we derived a session with before: never derive again; answer unless it echoes our
 *   current key (then it has it: `confirmed`).
 * - E is new: if our current key was already paired with another peer key (an old session), take a
 *   fresh one first — a new session never reuses an ephemeral key, so a rekey started by either
 *   side renews both; derive (ours, E); answer unless the PILX echoes our current key.
 * Crossing first PILAs converge (each pairs its unpaired key with the other's, and the answers echo
 * what was paired), as do crossing rekeys; a PILX older than the newest accepted from that peer is
 * `stale` (a replay) and changes nothing.
 */
export interface EphemeralHandshake {
  /** Our current ephemeral key for this peer; its private key is dropped (zeroed) once paired. */
  readonly ours: EphemeralKey | undefined;
  /** The peer's ephemeral key our current one was paired with (a session exists), if any. */
  readonly pairedWith: Uint8Array | undefined;
  /** The peer's newest ephemeral key. */
  readonly peer: Uint8Array | undefined;
  /** The newest PILX timestamp accepted from the peer (-1n: none). */
  readonly peerTimestamp: bigint;
}

/** An ephemeral key; `privateKey` is undefined once it was used (and wiped). */
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
  /** Derive a session from these (then wipe `ours.privateKey`: `markPaired` does). */
  readonly derive: { readonly ours: X25519KeyPair; readonly peer: Uint8Array } | undefined;
  /** Send our PILA + PILX back: the peer does not have our current key yet. */
  readonly reply: boolean;
  /** The peer has our current key (it echoed it): the session of (ours, peer) is in use on both ends. */
  readonly confirmed: boolean;
  /** The PILX was not newer than the last accepted one (a replay): nothing changed. */
  readonly stale: boolean;
}

/** The state before anything was exchanged with a peer. */
export function newEphemeralHandshake(): EphemeralHandshake {
  return { ours: undefined, pairedWith: undefined, peer: undefined, peerTimestamp: -1n };
}

/** The state with a current ephemeral key for us (a fresh one only when there is none yet). */
export function ensureOurEphemeral(
  state: EphemeralHandshake,
  generate: () => X25519KeyPair,
): EphemeralHandshake {
  if (state.ours !== undefined) return state;
  const pair = generate();
  return {
    ...state,
    ours: { publicKey: pair.publicKey, privateKey: pair.privateKey },
    pairedWith: undefined,
  };
}

/**
 * A rekey we start (byte or time budget spent): a fresh ephemeral key of ours, to be sent in our
 * next PILX; the session in use stays until the peer answers. The previous key's private half, if
 * still held, is zeroed.
 */
export function startRekey(state: EphemeralHandshake, generate: () => X25519KeyPair): EphemeralHandshake {
  state.ours?.privateKey?.fill(0);
  const pair = generate();
  return {
    ...state,
    ours: { publicKey: pair.publicKey, privateKey: pair.privateKey },
    pairedWith: undefined,
  };
}

/** After deriving: our key is paired with `peer` and its private half zeroed. */
export function markPaired(state: EphemeralHandshake, peer: Uint8Array): EphemeralHandshake {
  const ours = state.ours;
  if (ours === undefined) return state;
  ours.privateKey?.fill(0);
  return { ...state, ours: { publicKey: ours.publicKey, privateKey: undefined }, pairedWith: peer };
}

const nothing = (state: EphemeralHandshake, stale: boolean): HandshakeStep => ({
  state,
  derive: undefined,
  reply: false,
  confirmed: false,
  stale,
});

/** A verified PILX from the peer; see the rules above. */
export function receiveEphemeral(
  state: EphemeralHandshake,
  message: PeerEphemeral,
  generate: () => X25519KeyPair,
): HandshakeStep {
  if (message.timestamp <= state.peerTimestamp) return nothing(state, true);
  const peerKey = message.ephemeral;
  let next: EphemeralHandshake = { ...state, peerTimestamp: message.timestamp };
  if (peerKey === undefined) return nothing(next, false);
  // `peer` is set only when a session was derived with that key: never derive from it twice (its
  // owner may have wiped its private half, and a retransmission carries the same key).
  if (state.peer !== undefined && equalBytes(state.peer, peerKey)) {
    const echoed =
      next.ours !== undefined && message.echo !== undefined && equalBytes(message.echo, next.ours.publicKey);
    const paired = echoed && next.pairedWith !== undefined && equalBytes(next.pairedWith, peerKey);
    return { state: next, derive: undefined, reply: !echoed, confirmed: paired, stale: false };
  }
  // A new peer key: pair it with a key of ours that no session used.
  if (next.ours === undefined || next.ours.privateKey === undefined || next.pairedWith !== undefined) {
    next.ours?.privateKey?.fill(0);
    const pair = generate();
    next = {
      ...next,
      ours: { publicKey: pair.publicKey, privateKey: pair.privateKey },
      pairedWith: undefined,
    };
  }
  next = { ...next, peer: peerKey };
  const ours = next.ours as EphemeralKey & { privateKey: Uint8Array };
  const echoed = message.echo !== undefined && equalBytes(message.echo, ours.publicKey);
  return {
    state: next,
    derive: { ours: { publicKey: ours.publicKey, privateKey: ours.privateKey }, peer: peerKey },
    reply: !echoed,
    confirmed: echoed,
    stale: false,
  };
}
