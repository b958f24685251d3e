import { performance } from 'node:perf_hooks';
import {
  appendPilaExtension,
  confirmPairing,
  deriveSessionKeys,
  type EphemeralHandshake,
  ensureOurEphemeral,
  generateX25519KeyPair,
  newEphemeralHandshake,
  receiveEphemeral,
  startRekey,
  type VerifiedAuthKeyExchange,
  type VerifiedPilaExtension,
  verifyPilaExtension,
  wipeHandshake,
} from '@pilot/crypto';
import {
  encodeCapabilities,
  isPilotError,
  TUNNEL_CAPABILITY_BITS,
  TunnelCapability,
  type TunnelCapabilityName,
} from '@pilot/wire';
import { bytesEqual } from './bytes.js';
import { DEFAULT_TUNNEL_CAPABILITIES, type PeerCapabilities, peerCapabilities } from './capabilities.js';
import type { TunnelContext } from './context.js';
import type { Peer, Via } from './peer.js';
import { SessionCrypto } from './session-crypto.js';

const FS_BIT = 1 << TUNNEL_CAPABILITY_BITS[TunnelCapability.FORWARD_SECRECY];
/** A rekey we started and the peer has not answered: our PILA again after this long. */
const REKEY_RETRY_MS = 2000;
/** At most one `security.downgrade` event per peer in this long. */
const DOWNGRADE_EVENT_MS = 10_000;
/** Reference §14: PILAs in reply at most once a second per peer. */
const PILA_REPLY_INTERVAL_MS = 1000;

/** What we know of one peer beyond the spec. */
interface PeerSecrecy {
  /** The capability word of the peer's last valid PILX (undefined: none seen). */
  word: number | undefined;
  /** The static X25519 key that PILX came with (a new key is a new daemon: start over). */
  staticKey: Uint8Array | undefined;
  handshake: EphemeralHandshake;
  /** The forward-secret keys; they become the peer's keys (`peer.crypto`) once a session exists. */
  session: SessionCrypto | undefined;
  rekeyStartedAt: number | undefined;
  lastDowngradeEventAt: number;
}

/** What `onPila` decided about a verified PILA. */
export type SecrecyDecision =
  /** The spec's static key (a reference peer, or forward secrecy not negotiated): the caller keys as before. */
  | { readonly kind: 'static' }
  /** A forward-secret session was (re)keyed or confirmed; `reply`: send our PILA (+ PILX) back. */
  | { readonly kind: 'session'; readonly fresh: boolean; readonly changed: boolean; readonly reply: boolean }
  /** Nothing to key now (a replay, a refused downgrade, a PILX without a key yet); already answered. */
  | { readonly kind: 'ignored' };

/**
 * Capabilities and forward secrecy between pilot-ts peers (one part of the tunnel, `ctx.fs`).
 *
 * A PILA carries our PILX only to a peer we know to be pilot-ts: its registry entry lists tunnel
 * capabilities (our registry's `tunnel-capabilities` extension), or its own PILA carried a valid
 * PILX. Everyone else — reference peers above all — gets the spec's 136-byte PILA and static keys.
 * Once a peer has shown a PILX under its current static key, or the registry says it does forward
 * secrecy, a PILA from it without one is refused (`security.downgrade`): someone stripped it.
 */
export class ForwardSecrecy {
  /** What we advertise. */
  readonly advertised: readonly TunnelCapabilityName[];
  private readonly ours: ReadonlySet<string>;
  private readonly word: number;
  private readonly enabled: boolean;
  private readonly peers = new Map<number, PeerSecrecy>();
  private lastTimestamp = 0n;

  constructor(private readonly ctx: TunnelContext) {
    const options = ctx.options;
    const wanted = options.capabilities ?? DEFAULT_TUNNEL_CAPABILITIES;
    // aead-checksum-free is about packets inside our PILS: with encryption off (PILT only) it is not ours to offer.
    this.advertised = wanted.filter(
      (name) =>
        !(name === TunnelCapability.FORWARD_SECRECY && options.forwardSecrecy === false) &&
        !(name === TunnelCapability.AEAD_CHECKSUM_FREE && !ctx.encrypt),
    );
    this.ours = new Set(this.advertised);
    this.word = encodeCapabilities(this.advertised);
    this.enabled = ctx.encrypt && this.ours.has(TunnelCapability.FORWARD_SECRECY);
  }

  /** What the tunnel knows of `nodeId`'s capabilities. */
  capabilities(nodeId: number): PeerCapabilities {
    const state = this.peers.get(nodeId);
    const known = state?.word !== undefined || this.ctx.peerTable.get(nodeId)?.crypto !== undefined;
    const signed = state?.word;
    return peerCapabilities(this.ours, signed ?? this.registryWord(nodeId), known, signed !== undefined);
  }

  /** Whether the peer's keys are a forward-secret session, and how many sessions it had. */
  describe(nodeId: number): { forwardSecret: boolean; sessions: number } {
    const session = this.peers.get(nodeId)?.session;
    const peer = this.ctx.peerTable.get(nodeId);
    return {
      forwardSecret: session !== undefined && peer?.crypto === session,
      sessions: session?.sessions ?? 0,
    };
  }

  /** The capability word the registry's lookup showed for `nodeId` (undefined: none, e.g. a reference registry). */
  private registryWord(nodeId: number): number | undefined {
    const names = this.ctx.directory.capabilities?.(nodeId);
    if (names === undefined || names.length === 0) return undefined;
    let word = 0;
    for (const name of names) {
      const bit = (TUNNEL_CAPABILITY_BITS as Record<string, number | undefined>)[name];
      if (bit !== undefined) word |= 1 << bit;
    }
    // A pilot-ts registry entry with only names we do not know still says "pilot-ts".
    return word >>> 0;
  }

  /** True when we may send `nodeId` a PILX (it is pilot-ts, by its own PILX or the registry). */
  knowsPilotTs(nodeId: number): boolean {
    return this.peers.get(nodeId)?.word !== undefined || this.registryWord(nodeId) !== undefined;
  }

  private peerOffersFs(nodeId: number): boolean {
    const word = this.peers.get(nodeId)?.word ?? this.registryWord(nodeId);
    return word !== undefined && (word & FS_BIT) !== 0;
  }

  private stateOf(nodeId: number): PeerSecrecy {
    let state = this.peers.get(nodeId);
    if (state === undefined) {
      state = {
        word: undefined,
        staticKey: undefined,
        handshake: newEphemeralHandshake(),
        session: undefined,
        rekeyStartedAt: undefined,
        lastDowngradeEventAt: Number.NEGATIVE_INFINITY,
      };
      this.peers.set(nodeId, state);
    }
    return state;
  }

  /**
   * The PILA datagram for `nodeId`: the spec's frame, plus our PILX when the peer is known to be
   * pilot-ts (with our ephemeral key for it when both sides do forward secrecy). Each PILX gets a
   * fresh timestamp (a receiver ignores one not newer than the last), so it is signed per send.
   */
  pilaFor(nodeId: number | undefined, base: Uint8Array): Uint8Array {
    const ctx = this.ctx;
    if (nodeId === undefined || !ctx.encrypt || !this.knowsPilotTs(nodeId)) return base;
    let ephemeral: Uint8Array | undefined;
    let echo: Uint8Array | undefined;
    if (this.enabled && this.peerOffersFs(nodeId)) {
      const state = this.stateOf(nodeId);
      state.handshake = ensureOurEphemeral(state.handshake, () => generateX25519KeyPair());
      ephemeral = state.handshake.ours?.publicKey;
      echo = state.handshake.pairedWith;
    }
    const now = BigInt(Date.now());
    this.lastTimestamp = now > this.lastTimestamp ? now : this.lastTimestamp + 1n;
    ctx.count('pilx_sent');
    return appendPilaExtension(ctx.options.identity, base, {
      capabilities: this.word,
      timestamp: this.lastTimestamp,
      ephemeral,
      echo,
    });
  }

  /** A PILA from `peer` that verified (`frame` is the whole datagram, PILX included if any). */
  onPila(peer: Peer, verified: VerifiedAuthKeyExchange, frame: Uint8Array, via: Via): SecrecyDecision {
    const ctx = this.ctx;
    const nodeId = peer.nodeId;
    let extension: VerifiedPilaExtension | undefined;
    try {
      extension = verifyPilaExtension(frame, verified.ed25519PublicKey);
    } catch (error) {
      if (!isPilotError(error)) throw error;
      ctx.drop('pilx_refused');
      extension = undefined;
    }
    const known = this.peers.get(nodeId);
    const sameDaemon =
      known?.staticKey !== undefined && bytesEqual(known.staticKey, verified.x25519PublicKey);
    // Another static key than the one its PILX came with: the peer restarted; start over.
    const newDaemon = known?.staticKey !== undefined && !sameDaemon;
    if (extension === undefined) {
      // A PILA without PILX from a peer that showed one under this very key, or that the registry
      // lists as forward-secret: stripped on the path (a downgrade), or sent before the peer knew
      // us. Either way: no static keys; our PILA (+ PILX) answers, so a genuine peer sends its PILX.
      const shown = sameDaemon && known?.word !== undefined;
      if (this.enabled && (shown || this.peerOffersFs(nodeId))) {
        ctx.drop(shown ? 'pilx_missing' : 'pilx_awaited');
        const now = performance.now();
        const state = this.stateOf(nodeId);
        // Only a peer that showed its PILX under this key is evidence of stripping; one known from
        // the registry alone may simply not know us yet (a punch PILA names no peer).
        if (shown && now - state.lastDowngradeEventAt >= DOWNGRADE_EVENT_MS) {
          state.lastDowngradeEventAt = now;
          ctx.emit({ type: 'security.downgrade', node_id: nodeId });
        }
        this.answer(peer, via);
        return { kind: 'ignored' };
      }
      if (newDaemon) this.reset(nodeId);
      return { kind: 'static' };
    }

    if (newDaemon) this.reset(nodeId);
    const state = this.stateOf(nodeId);
    if (extension.timestamp <= state.handshake.peerTimestamp) {
      ctx.drop('pilx_stale');
      return { kind: 'ignored' };
    }
    const before = state.word;
    state.word = extension.capabilities;
    state.staticKey = Uint8Array.from(verified.x25519PublicKey);
    if (before !== state.word) {
      ctx.emit({
        type: 'tunnel.capabilities',
        node_id: nodeId,
        capabilities: [...peerCapabilities(this.ours, state.word, true).names],
      });
    }
    if (!this.enabled || (extension.capabilities & FS_BIT) === 0) {
      state.handshake = { ...state.handshake, peerTimestamp: extension.timestamp };
      return { kind: 'static' };
    }

    const hadSession = state.session?.ready === true && peer.crypto === state.session;
    const changed =
      peer.crypto !== undefined && !bytesEqual(peer.crypto.peerX25519, verified.x25519PublicKey);
    if (state.session === undefined) {
      state.session = new SessionCrypto({
        peerX25519: verified.x25519PublicKey,
        ourNode: ctx.nodeId,
        peerNode: nodeId,
        budget: ctx.options.rekey,
        contexts: ctx.contexts,
        onRekeyDue: () => queueMicrotask(() => this.rekey(nodeId)),
        // The peer sealed under the session we derived: our ephemeral key is confirmed (and wiped).
        onConfirmed: () => {
          const current = this.peers.get(nodeId);
          if (current !== undefined) current.handshake = confirmPairing(current.handshake);
        },
      });
    }
    const session = state.session;
    const step = receiveEphemeral(state.handshake, extension, () => generateX25519KeyPair());
    state.handshake = step.state;
    const now = performance.now();
    if (step.derive !== undefined) {
      const derive = step.derive;
      try {
        const keys = deriveSessionKeys({
          ourNode: ctx.nodeId,
          peerNode: nodeId,
          ourStatic: ctx.x25519,
          peerStatic: verified.x25519PublicKey,
          ourEphemeral: derive.ours,
          peerEphemeral: derive.peer,
        });
        session.install(keys, step.confirmed, now);
      } catch (error) {
        if (!isPilotError(error)) throw error;
        ctx.drop('pilx_bad_ephemeral');
        return { kind: 'ignored' };
      } finally {
        derive.ours.privateKey.fill(0);
      }
      state.rekeyStartedAt = undefined;
      ctx.count('fs_sessions');
    } else if (step.confirmed) {
      session.confirm(now);
    }
    if (!session.ready) {
      if (step.reply) this.answer(peer, via);
      return { kind: 'ignored' };
    }
    if (peer.crypto !== session) {
      // The static key (or an older daemon's session) it replaces: its cipher contexts go now.
      peer.crypto?.release();
      peer.crypto = session;
      peer.authenticated = true;
    }
    // We now seal under the new session; an empty sealed frame under it tells the peer (which
    // holds it as pending) to do the same, even when we have nothing to send.
    if (step.derive !== undefined && step.confirmed && hadSession) {
      ctx.paths.sendFrame(peer, session.seal(new Uint8Array(0)));
    }
    if (step.derive !== undefined && hadSession) ctx.count('fs_rekeyed');
    return { kind: 'session', fresh: !hadSession, changed, reply: step.reply };
  }

  /**
   * Our PILA (+ PILX) back by the way the peer's came (it may have no path with us yet), at most
   * once a second.
   */
  private answer(peer: Peer, via: Via): void {
    const ctx = this.ctx;
    const now = performance.now();
    if (now - peer.lastPilaSentAt < PILA_REPLY_INTERVAL_MS) {
      ctx.count('pila_throttled');
      return;
    }
    peer.lastPilaSentAt = now;
    ctx.count('pila_sent');
    ctx.paths.sendVia(peer.nodeId, via, ctx.keys.pilaFrame(peer.nodeId));
  }

  /** The byte or time budget of `nodeId`'s session is spent: a fresh ephemeral key, sent in our PILA. */
  private rekey(nodeId: number): void {
    const ctx = this.ctx;
    const state = this.peers.get(nodeId);
    const peer = ctx.peerTable.get(nodeId);
    if (ctx.closed || state === undefined || peer === undefined || state.session === undefined) return;
    state.handshake = startRekey(state.handshake, () => generateX25519KeyPair());
    state.rekeyStartedAt = performance.now();
    ctx.count('fs_rekeys_started');
    ctx.keys.sendPila(peer, true);
  }

  /** Once a second (liveness): time budgets, the previous sessions' grace, unanswered rekeys. */
  tick(now: number): void {
    for (const [nodeId, state] of this.peers) {
      const session = state.session;
      if (session === undefined) continue;
      session.tick(now);
      if (state.rekeyStartedAt !== undefined && now - state.rekeyStartedAt >= REKEY_RETRY_MS) {
        state.rekeyStartedAt = now;
        const peer = this.ctx.peerTable.get(nodeId);
        if (peer !== undefined) this.ctx.keys.sendPila(peer, true);
      }
    }
  }

  /** Forgets a peer: its sessions' keys and any unpaired ephemeral private key are zeroed. */
  reset(nodeId: number): void {
    const state = this.peers.get(nodeId);
    if (state === undefined) return;
    state.session?.wipe();
    wipeHandshake(state.handshake);
    this.peers.delete(nodeId);
  }

  /** Our node ID changed: every session was bound to the old one. */
  resetAll(): void {
    for (const nodeId of [...this.peers.keys()]) this.reset(nodeId);
  }
}
