import { performance } from 'node:perf_hooks';
import {
  type ContextBudget,
  createTunnelOpener,
  createTunnelSealer,
  type SessionKeys,
  type TunnelOpener,
  type TunnelSealer,
  wipeSessionKeys,
} from '@pilot/crypto';
import { type OpenOutcome, openFailure } from './peer-crypto.js';

/**
 * What the tunnel asks of a peer's keys, whichever kind they are: the spec's static key shared by
 * both directions (`PeerCrypto`, reference peers and pilot-ts peers without forward secrecy) or a
 * forward-secret session (`SessionCrypto`).
 */
export interface TunnelKeys {
  /** The peer's static X25519 key these keys were made with (from its PILA). */
  readonly peerX25519: Uint8Array;
  /** Consecutive frames that failed to open. */
  failures: number;
  /** False while a forward-secret peer has no session yet (nothing to seal with). */
  readonly ready: boolean;
  setOurNode(ourNode: number): void;
  seal(packet: Uint8Array): Uint8Array;
  sealInto(packet: Uint8Array, out: Uint8Array, offset: number): number;
  open(frame: Uint8Array, inPlace?: boolean): OpenOutcome;
  /** The keys are being replaced or dropped: free their cipher contexts now rather than at GC. */
  release(): void;
}

/** When a session must be replaced: bytes sealed under its key, or its age. */
export interface RekeyBudget {
  /** Default 1 GiB (GCM itself is good for far more; this bounds what one key protects). */
  readonly bytes: number;
  /** Default 120 s (WireGuard's REKEY_AFTER_TIME). */
  readonly ms: number;
  /** How long the previous session's receive key is kept for frames in flight; default 5 s. */
  readonly graceMs: number;
}

export const DEFAULT_REKEY_BUDGET: RekeyBudget = { bytes: 1 << 30, ms: 120_000, graceMs: 5000 };

interface Session {
  readonly keys: SessionKeys;
  readonly sealer: TunnelSealer;
  readonly opener: TunnelOpener;
  readonly createdAt: number;
  retiredAt: number;
}

function prefixOf(id: number): Uint8Array {
  return Uint8Array.of(id >>> 24, (id >>> 16) & 0xff, (id >>> 8) & 0xff, id & 0xff);
}

/**
 * The forward-secret keys of one pilot-ts peer: up to three sessions, each with one key per
 * direction (`deriveSessionKeys`), told apart on receipt by the frame's nonce prefix, which is the
 * session's key ID for that direction.
 *
 * - `current`: what we seal with, and open.
 * - `pending`: derived when the peer started a (re)key; we open with it but keep sealing under
 *   `current` until the peer shows it has the session too (a frame under it, or a PILX echoing our
 *   key: `confirm`), so a lost answer never leaves the peer unable to read us.
 * - `previous`: the session `current` replaced, kept for `graceMs` for frames in flight, then wiped.
 *
 * Key bytes are zeroed when a session is dropped (the OpenSSL contexts holding copies go with their
 * sealer and opener). `onRekeyDue` is called once per session when its byte budget is spent (checked
 * on the sealing path: one addition and one comparison) or, through `tick`, its time budget.
 */
export class SessionCrypto implements TunnelKeys {
  readonly peerX25519: Uint8Array;
  failures = 0;
  private ourNode: number;
  private readonly peerNode: number;
  private readonly budget: RekeyBudget;
  private readonly onRekeyDue: () => void;
  private readonly onConfirmed: () => void;
  private readonly contexts: ContextBudget | undefined;
  private current: Session | undefined;
  private pending: Session | undefined;
  private previous: Session | undefined;
  /** A frame under `current` has opened (the peer holds it). */
  private heard = false;
  /** Bytes sealed under `current`. */
  private sealed = 0;
  private rekeyAsked = false;
  /** Sessions installed so far (for tests and info). */
  sessions = 0;

  constructor(options: {
    peerX25519: Uint8Array;
    ourNode: number;
    peerNode: number;
    budget?: Partial<RekeyBudget> | undefined;
    onRekeyDue: () => void;
    /** The peer sealed a frame under the pending session: it holds it (the handshake is confirmed). */
    onConfirmed?: () => void;
    /** The tunnel's shared bound on live cipher contexts. */
    contexts?: ContextBudget | undefined;
  }) {
    this.peerX25519 = Uint8Array.from(options.peerX25519);
    this.ourNode = options.ourNode;
    this.peerNode = options.peerNode;
    this.budget = { ...DEFAULT_REKEY_BUDGET, ...options.budget };
    this.onRekeyDue = options.onRekeyDue;
    this.onConfirmed = options.onConfirmed ?? (() => {});
    this.contexts = options.contexts;
  }

  get ready(): boolean {
    return this.current !== undefined;
  }

  /** True while a derived session waits for the peer's confirmation. */
  get hasPending(): boolean {
    return this.pending !== undefined;
  }

  /** The age of the session we seal with (ms), or undefined. */
  currentAge(now: number): number | undefined {
    return this.current === undefined ? undefined : now - this.current.createdAt;
  }

  /**
   * A new session. `confirmed` (the peer echoed our ephemeral key: it holds the same session) or
   * no session yet: seal with it at once. Otherwise it waits in `pending` for the peer's first
   * frame under it.
   */
  install(keys: SessionKeys, confirmed: boolean, now: number): void {
    const session: Session = {
      keys,
      sealer: createTunnelSealer({
        key: keys.sendKey,
        senderNode: this.ourNode,
        prefix: prefixOf(keys.sendId),
        ...(this.contexts === undefined ? {} : { contexts: this.contexts }),
      }),
      opener: createTunnelOpener({
        key: keys.receiveKey,
        peerNode: this.peerNode,
        ...(this.contexts === undefined ? {} : { contexts: this.contexts }),
      }),
      createdAt: now,
      retiredAt: 0,
    };
    this.sessions++;
    if (this.pending !== undefined) this.drop(this.pending);
    this.pending = undefined;
    if (confirmed || this.current === undefined) this.promote(session, now);
    else this.pending = session;
  }

  /** The peer holds the pending session (its PILX echoed our key): seal with it from now on. */
  confirm(now: number): void {
    const pending = this.pending;
    if (pending === undefined) return;
    this.pending = undefined;
    this.promote(pending, now);
  }

  private promote(session: Session, now: number): void {
    if (this.previous !== undefined) this.drop(this.previous);
    this.previous = this.current;
    if (this.previous !== undefined) this.previous.retiredAt = now;
    this.current = session;
    this.heard = false;
    this.sealed = 0;
    this.rekeyAsked = false;
  }

  private drop(session: Session): void {
    // The OpenSSL contexts first (the native addon frees them), then the key bytes we hold.
    session.sealer.release();
    session.opener.release();
    wipeSessionKeys(session.keys);
  }

  /** Our node ID changed: the sessions were bound to the old one; they are dropped (a new PILA re-keys). */
  setOurNode(ourNode: number): void {
    if (ourNode === this.ourNode) return;
    this.ourNode = ourNode;
    this.wipe();
  }

  /** Frees the sessions' cipher contexts (rebuilt from the key bytes on the next use). */
  release(): void {
    for (const session of [this.current, this.pending, this.previous]) {
      session?.sealer.release();
      session?.opener.release();
    }
  }

  /** Drops every session and zeroes its keys. */
  wipe(): void {
    for (const session of [this.current, this.pending, this.previous])
      if (session !== undefined) this.drop(session);
    this.current = this.pending = this.previous = undefined;
  }

  /** Time-based upkeep: the previous session's grace, and the time budget of the current one. */
  tick(now: number): void {
    const previous = this.previous;
    if (previous !== undefined && now - previous.retiredAt >= this.budget.graceMs) {
      this.drop(previous);
      this.previous = undefined;
    }
    const current = this.current;
    if (current !== undefined && !this.rekeyAsked && now - current.createdAt >= this.budget.ms) {
      this.rekeyAsked = true;
      this.onRekeyDue();
    }
  }

  /** A rekey was started and not answered yet: ask again at the next budget check. */
  rekeyUnanswered(): void {
    this.rekeyAsked = false;
  }

  private sealer(length: number): TunnelSealer {
    const current = this.current;
    if (current === undefined) throw new Error('SessionCrypto.seal before a session exists (check ready)');
    this.sealed += length;
    if (this.sealed >= this.budget.bytes && !this.rekeyAsked) {
      this.rekeyAsked = true;
      this.onRekeyDue();
    }
    return current.sealer;
  }

  seal(packet: Uint8Array): Uint8Array {
    return this.sealer(packet.length).seal(packet);
  }

  sealInto(packet: Uint8Array, out: Uint8Array, offset: number): number {
    return this.sealer(packet.length).sealInto(packet, out, offset);
  }

  open(frame: Uint8Array, inPlace = false): OpenOutcome {
    if (frame.length < 36) return { ok: false, reason: 'bad_frame' };
    const id = ((frame[8]! << 24) | (frame[9]! << 16) | (frame[10]! << 8) | frame[11]!) >>> 0;
    const session =
      this.current?.keys.receiveId === id
        ? this.current
        : this.pending?.keys.receiveId === id
          ? this.pending
          : this.previous?.keys.receiveId === id
            ? this.previous
            : undefined;
    if (session === undefined) {
      this.failures++;
      return { ok: false, reason: 'bad_tag' };
    }
    try {
      const plaintext = inPlace ? session.opener.openInPlace(frame) : session.opener.open(frame);
      this.failures = 0;
      // The peer seals under the pending session: it has it, so we may too.
      if (session === this.pending) {
        this.confirm(performance.now());
        this.onConfirmed();
      } else if (session === this.current && !this.heard) {
        // The first frame under the session we seal with: the peer holds it.
        this.onConfirmed();
      }
      if (session === this.current) this.heard = true;
      return { ok: true, plaintext };
    } catch (error) {
      this.failures++;
      return openFailure(error);
    }
  }
}
