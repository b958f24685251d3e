import { performance } from 'node:perf_hooks';
import {
  CryptoErrorCode,
  createAuthKeyExchange,
  type VerifiedAuthKeyExchange,
  verifyAuthKeyExchange,
} from '@pilot/crypto';
import {
  AUTH_KEY_EXCHANGE_SIZE,
  isPilotError,
  PILA_EXTENSION_HEAD_SIZE,
  PILA_EXTENSION_MAX_BODY,
  PILA_EXTENSION_SIGNATURE_SIZE,
  sameUdpAddress,
  TunnelMagic,
} from '@pilot/wire';
import { bytesEqual, readU32 } from './bytes.js';
import type { TunnelContext } from './context.js';
import type { Peer, Via } from './peer.js';
import { PeerCrypto } from './peer-crypto.js';

/** Reference §14: reply PILAs at most once a second per peer, and ignore a duplicate within 250 ms. */
const PILA_REPLY_INTERVAL_MS = 1000;
const PILA_DEBOUNCE_MS = 250;
const KEY_REQUEST_TABLE_LIMIT = 1024;
/** PILAs remembered for the debounce at once (a flood of distinct senders only shortens their stay). */
const RECENT_PILA_LIMIT = 1024;
/** Senders whose PILA verification is tracked at once (beyond it, their PILKs are answered as usual). */
const VERIFYING_LIMIT = 1024;
/**
 * PILAs sent in answer to frames from unverified sources (a PILK, a PILS we cannot open) are larger
 * than what caused them, so they are capped overall as well as per node: at most this many a second.
 */
const UNSOLICITED_PILA_PER_SECOND = 50;
/** A PILA and the largest PILX we read after it. */
const PILA_WITH_EXTENSION_MAX =
  AUTH_KEY_EXCHANGE_SIZE + PILA_EXTENSION_HEAD_SIZE + PILA_EXTENSION_MAX_BODY + PILA_EXTENSION_SIGNATURE_SIZE;

/**
 * The key exchange: our signed PILA and our PILK (a "send me your PILA" request), verifying a
 * peer's PILA against the registry's key, keying (and re-keying) a peer, and the throttles on
 * PILAs sent in reply.
 */
export class KeyExchange {
  private pila: Uint8Array | undefined;
  /** When we last asked a node for its key or answered its key request (bounded; nodes need no entry). */
  private readonly keyRequestAt = new Map<number, number>();
  private unsolicitedWindow = 0;
  private unsolicitedCount = 0;
  /**
   * The PILAs accepted in the last PILA_DEBOUNCE_MS, by sender, oldest first: the debounce needs a
   * peer's last frame for 250 ms only, so it is not kept on the peer (~450 bytes per idle tunnel).
   */
  private readonly recentPilas = new Map<number, { readonly frame: Uint8Array; readonly at: number }>();
  /**
   * Senders whose PILA waits for the registry's key (bounded): their PILK, which comes right after
   * it, is answered by the answer to that PILA, which carries our PILX once we know the sender.
   */
  private readonly verifying = new Map<number, number>();

  constructor(private readonly ctx: TunnelContext) {}

  /** Our node changed: a new PILA (none in plaintext mode). */
  resetPila(): void {
    const ctx = this.ctx;
    this.pila = ctx.encrypt
      ? createAuthKeyExchange(ctx.options.identity, ctx.nodeId, ctx.x25519.publicKey)
      : undefined;
    // Forward-secret sessions are bound to our node ID.
    ctx.fs.resetAll();
  }

  /**
   * Our PILA datagram: the spec's 136 bytes, followed by our PILX when `nodeId` is known to be
   * pilot-ts (`ctx.fs`). Without a node (punches towards an endpoint), the spec's frame alone.
   */
  pilaFrame(nodeId?: number): Uint8Array {
    const ctx = this.ctx;
    if (this.pila === undefined)
      this.pila = createAuthKeyExchange(ctx.options.identity, ctx.nodeId, ctx.x25519.publicKey);
    return ctx.fs.pilaFor(nodeId, this.pila);
  }

  pilkFrame(): Uint8Array {
    const pilk = new Uint8Array(40);
    const view = new DataView(pilk.buffer);
    view.setUint32(0, TunnelMagic.KEY_EXCHANGE);
    view.setUint32(4, this.ctx.nodeId);
    pilk.set(this.ctx.x25519.publicKey, 8);
    return pilk;
  }

  onPilk(frame: Uint8Array, via: Via): void {
    const ctx = this.ctx;
    if (frame.length < 40) {
      ctx.drop('truncated');
      return;
    }
    const sender = readU32(frame, 4);
    // We always have an identity: an unauthenticated key is refused and answered with our PILA
    // (the newest upstream uses exactly this as a "send me your key" request).
    ctx.drop('pilk_refused');
    if (!ctx.encrypt || sender === ctx.nodeId) return;
    if (this.verifying.has(sender)) {
      // Answered with the PILA it came with (a PILA of ours now would lack the PILX a pilot-ts
      // peer waits for, and spend its once-a-second reply on refusing it).
      ctx.count('pilk_answered_by_pila');
      return;
    }
    this.replyKeyRequest(sender, via);
  }

  onPila(frame: Uint8Array, via: Via): void {
    const ctx = this.ctx;
    if (!ctx.encrypt) {
      ctx.drop('pila_plaintext_mode');
      return;
    }
    if (frame.length < AUTH_KEY_EXCHANGE_SIZE) {
      ctx.drop('truncated');
      return;
    }
    const sender = readU32(frame, 4);
    if (sender === ctx.nodeId || sender === 0) {
      ctx.drop('pila_bad_sender');
      return;
    }
    const recent = this.recentPilas.get(sender);
    const now = performance.now();
    if (
      recent !== undefined &&
      now - recent.at < PILA_DEBOUNCE_MS &&
      bytesEqual(recent.frame, frame.subarray(0, PILA_WITH_EXTENSION_MAX))
    ) {
      ctx.count('pila_debounced');
      return;
    }
    // The whole datagram (a PILX may follow the spec's 136 bytes), up to the largest PILX we read.
    const copy = Uint8Array.from(frame.subarray(0, PILA_WITH_EXTENSION_MAX));
    // The lookup this may cause is charged to where the PILA came from (the directory budgets it).
    const source = via.kind === 'relay' ? 'relay' : via.from.address;
    const tracked = this.verifying.size < VERIFYING_LIMIT;
    if (tracked) this.verifying.set(sender, (this.verifying.get(sender) ?? 0) + 1);
    const settled = (): void => {
      if (!tracked) return;
      const left = (this.verifying.get(sender) ?? 1) - 1;
      if (left <= 0) this.verifying.delete(sender);
      else this.verifying.set(sender, left);
    };
    this.verifyPila(sender, copy, source).then(
      (verified) => {
        settled();
        if (verified !== undefined && !ctx.closed) this.acceptPila(verified, copy, via);
      },
      (error: unknown) => {
        settled();
        ctx.log('warn', 'PILA handling failed', { node_id: sender, error: String(error) });
      },
    );
  }

  private async verifyPila(
    sender: number,
    frame: Uint8Array,
    source: string,
  ): Promise<VerifiedAuthKeyExchange | undefined> {
    const ctx = this.ctx;
    for (let attempt = 0; attempt < 2; attempt++) {
      const key = await ctx.keyCache.get(sender, attempt > 0, { source });
      if (key === undefined) {
        ctx.drop('pila_unknown_node');
        return undefined;
      }
      try {
        return verifyAuthKeyExchange(frame, key);
      } catch (error) {
        if (isPilotError(error, CryptoErrorCode.KEY_MISMATCH) && attempt === 0) continue;
        const peer = ctx.peerTable.get(sender);
        if (isPilotError(error, CryptoErrorCode.KEY_MISMATCH)) {
          ctx.drop('pila_bad_key');
          if (peer !== undefined) peer.badKey = true;
          ctx.emit({ type: 'security.bad_key', node_id: sender });
        } else if (isPilotError(error, CryptoErrorCode.BAD_SIGNATURE)) {
          ctx.drop('pila_bad_signature');
          ctx.emit({ type: 'security.bad_signature', node_id: sender });
        } else if (isPilotError(error)) {
          ctx.drop('pila_malformed');
        } else {
          throw error;
        }
        return undefined;
      }
    }
    return undefined;
  }

  private acceptPila(verified: VerifiedAuthKeyExchange, frame: Uint8Array, via: Via): void {
    const ctx = this.ctx;
    const peer = ctx.peerOf(verified.senderNode);
    this.rememberPila(peer.nodeId, frame, performance.now());
    // Between pilot-ts peers: capabilities and a forward-secret session instead of the static key.
    const secrecy = ctx.fs.onPila(peer, verified, frame, via);
    if (secrecy.kind === 'ignored') return;
    const hadState = peer.crypto !== undefined;
    let changed =
      hadState && !bytesEqual(peer.crypto?.peerX25519 ?? new Uint8Array(0), verified.x25519PublicKey);
    let fresh = false;
    if (secrecy.kind === 'session') {
      fresh = secrecy.fresh;
      changed = secrecy.changed;
      if (fresh) ctx.count(changed ? 'rekeyed' : 'keyed');
    } else if (!hadState || changed || !(peer.crypto instanceof PeerCrypto)) {
      try {
        const previous = peer.crypto;
        peer.crypto = new PeerCrypto(
          ctx.x25519.privateKey,
          verified.x25519PublicKey,
          ctx.nodeId,
          peer.nodeId,
          ctx.contexts,
        );
        previous?.release();
      } catch (error) {
        if (!isPilotError(error)) throw error;
        ctx.drop('pila_bad_x25519');
        return;
      }
      peer.authenticated = true;
      fresh = true;
      ctx.count(changed ? 'rekeyed' : 'keyed');
    }
    ctx.count('pila_accepted');
    const wasRelay = peer.relay;
    const viaSocket = via.kind === 'side' ? via.socket : undefined;
    const fromElsewhere =
      !fresh &&
      via.kind !== 'relay' &&
      !peer.relay &&
      (peer.endpoint === undefined || !sameUdpAddress(peer.endpoint, via.from) || peer.side !== viaSocket);
    // A PILA under a new key proves a new session and may set the path; the same key again (which
    // anyone could replay) only takes a relayed tunnel back to a direct one.
    ctx.paths.authenticatedFrom(peer, via, fresh);
    const upgraded = wasRelay && !peer.relay;
    if (fresh) {
      // New keys with a peer we had keys with (it restarted): what was sent under the old ones is lost.
      if (changed) peer.proofAwaited = true;
      ctx.emit({
        type: changed ? 'tunnel.rekeyed' : 'tunnel.established',
        node_id: peer.nodeId,
        relay: peer.relay,
      });
      ctx.log('info', changed ? 'peer re-keyed' : 'tunnel keys set', {
        node_id: peer.nodeId,
        relay: peer.relay,
      });
    }
    const reply = secrecy.kind === 'session' ? secrecy.reply : fresh;
    if (reply && fromElsewhere) {
      // A handshake step from another path than ours, which did not move (a peer that restarted
      // elsewhere with the same static key, `--tunnel-key-file`): the answer goes where it came
      // from, not to the path the peer may have left. Only a PILX newer than any before asks for
      // an answer (fresh is excluded here), so a replay never gets one.
      peer.lastPilaSentAt = performance.now();
      ctx.count('pila_sent');
      ctx.paths.sendVia(peer.nodeId, via, this.pilaFrame(peer.nodeId));
    } else if (reply || upgraded) {
      const sentBefore = peer.lastPilaSentAt;
      this.sendPila(peer, true);
      // The spec's static key with a restarted peer (a reference daemon): it derives the key from
      // the PILA just sent, which our packets now follow on the same path, so what waits for it may
      // go at once. A forward-secret session waits for the peer's first frame under it (sealing).
      if (changed && secrecy.kind === 'static' && peer.proofAwaited && peer.lastPilaSentAt !== sentBefore)
        ctx.proved(peer);
    } else if (fromElsewhere) {
      // The peer is trying a new path (its mapping changed, a punch or birthday socket): answer
      // there, so that it gets an authenticated frame on that path. Our own path moves only when
      // its PILS arrives from there.
      const now = performance.now();
      if (now - peer.lastPilaSentAt >= PILA_REPLY_INTERVAL_MS) {
        peer.lastPilaSentAt = now;
        ctx.count('pila_sent');
        ctx.paths.sendVia(peer.nodeId, via, this.pilaFrame(peer.nodeId));
      } else {
        ctx.count('pila_throttled');
      }
    }
    ctx.sealing.flush(peer);
    ctx.settle(peer);
  }

  /** Keeps `frame` for the debounce, forgetting the PILAs older than the debounce window. */
  private rememberPila(sender: number, frame: Uint8Array, now: number): void {
    const recent = this.recentPilas;
    recent.delete(sender);
    for (const [node, entry] of recent) {
      if (now - entry.at < PILA_DEBOUNCE_MS && recent.size < RECENT_PILA_LIMIT) break;
      recent.delete(node);
    }
    recent.set(sender, { frame, at: now });
  }

  /**
   * Sends our PILA by the peer's path. Replies are throttled (reference §14: at most one a second);
   * a throttled reply is sent when the interval ends rather than lost.
   */
  sendPila(peer: Peer, reply: boolean): void {
    const ctx = this.ctx;
    if (!ctx.encrypt || (peer.endpoint === undefined && !peer.relay)) return;
    const now = performance.now();
    const wait = peer.lastPilaSentAt + PILA_REPLY_INTERVAL_MS - now;
    if (wait > 0) {
      if (reply && peer.pilaReplyTimer === undefined) {
        peer.pilaReplyTimer = setTimeout(() => {
          peer.pilaReplyTimer = undefined;
          if (!ctx.closed) this.sendPila(peer, true);
        }, wait);
        peer.pilaReplyTimer.unref();
      }
      ctx.count('pila_throttled');
      return;
    }
    peer.lastPilaSentAt = now;
    ctx.count('pila_sent');
    ctx.paths.sendFrame(peer, this.pilaFrame(peer.nodeId));
    if (peer.crypto === undefined) ctx.paths.sendFrame(peer, this.pilkFrame());
  }

  /** A frame we could not open from a node: ask for its PILA with a PILK (throttled), via the same path. */
  requestKey(sender: number, via: Via): void {
    const ctx = this.ctx;
    const now = performance.now();
    if (!this.mayAnswer(sender, now)) return;
    ctx.count('key_requests');
    const pilk = this.pilkFrame();
    // The PILK says "send me your PILA"; our own PILA goes along so the peer can re-key if it lost ours.
    for (const frame of [this.pilaFrame(sender), pilk]) ctx.paths.sendVia(sender, via, frame);
  }

  private replyKeyRequest(sender: number, via: Via): void {
    const ctx = this.ctx;
    const now = performance.now();
    if (!this.mayAnswer(sender, now)) {
      ctx.count('pila_throttled');
      return;
    }
    ctx.count('pila_sent');
    ctx.paths.sendVia(sender, via, this.pilaFrame(sender));
  }

  /** Key requests and answers to them: one a second per node, UNSOLICITED_PILA_PER_SECOND overall. */
  private mayAnswer(node: number, now: number): boolean {
    const last = this.keyRequestAt.get(node);
    if (last !== undefined && now - last < PILA_REPLY_INTERVAL_MS) return false;
    if (!this.unsolicitedAllowed(now)) return false;
    this.keyRequestAt.delete(node);
    this.keyRequestAt.set(node, now);
    if (this.keyRequestAt.size > KEY_REQUEST_TABLE_LIMIT) {
      const oldest = this.keyRequestAt.keys().next().value;
      if (oldest !== undefined) this.keyRequestAt.delete(oldest);
    }
    return true;
  }

  private unsolicitedAllowed(now: number): boolean {
    const second = Math.floor(now / 1000);
    if (second !== this.unsolicitedWindow) {
      this.unsolicitedWindow = second;
      this.unsolicitedCount = 0;
    }
    if (this.unsolicitedCount >= UNSOLICITED_PILA_PER_SECOND) return false;
    this.unsolicitedCount++;
    return true;
  }
}
