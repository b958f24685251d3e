import { performance } from 'node:perf_hooks';
import { PUNCH_FRAME, TokenBucket } from '@pilot/nat';
import { sameUdpAddress } from '@pilot/wire';
import type { TunnelContext } from './context.js';
import { hasPath, type Peer } from './peer.js';

/** How often paths are checked for silence. */
const LIVENESS_CHECK_MS = 1000;
/** A peer we keep sending to that has said nothing authenticated for this long has lost its path. */
const SILENT_WHILE_SENDING_MS = 3000;
/** How long a silent path's PILK probe waits for the peer's PILA before punching again. */
const PROBE_WAIT_MS = 1000;
/** Recoveries of one silent path before we stop trying (the peer is probably gone). */
const MAX_RECOVERIES = 3;
/**
 * Registry lookups for silent paths, at most this many a second over all peers: when our own
 * network drops, every tunnel goes silent at once, and the registry need not hear of each of them
 * (the others still punch and relay, and are looked up at their next recovery).
 */
const REGISTRY_PROBES_PER_SECOND = 20;

/**
 * Keeping paths alive: the keepalive, liveness and relay-upgrade timers, keepalives (a beacon
 * discover and a sealed empty frame per peer), and the recovery of a path that went silent.
 */
export class Liveness {
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private livenessTimer: NodeJS.Timeout | undefined;
  private readonly registryProbes = new TokenBucket(
    REGISTRY_PROBES_PER_SECOND,
    REGISTRY_PROBES_PER_SECOND,
    performance.now(),
  );

  constructor(private readonly ctx: TunnelContext) {}

  start(): void {
    const ctx = this.ctx;
    this.keepaliveTimer = setInterval(() => this.keepalive(), ctx.keepaliveMs);
    this.keepaliveTimer.unref();
    this.livenessTimer = setInterval(() => this.checkLiveness(), LIVENESS_CHECK_MS);
    this.livenessTimer.unref();
    if (ctx.beacon.address !== undefined) {
      this.retryTimer = setInterval(() => ctx.relay.retryDirect(), ctx.directRetryMs);
      this.retryTimer.unref();
    }
  }

  stop(): void {
    clearInterval(this.keepaliveTimer);
    clearInterval(this.retryTimer);
    clearInterval(this.livenessTimer);
  }

  /**
   * A path that went silent (our NAT or the peer's changed its mapping, a router forgot it) is
   * searched for again: re-classify our NAT (its mode may have changed), punch through the beacon
   * (birthday probing included), and relay if nothing authenticated comes back within
   * directTimeoutMs; the relayed tunnel then upgrades to a direct one as usual.
   */
  private checkLiveness(): void {
    const ctx = this.ctx;
    if (ctx.closed || !ctx.encrypt) return;
    const now = performance.now();
    // Forward-secret sessions: time budgets, previous keys' grace, unanswered rekeys.
    ctx.fs.tick(now);
    for (const peer of ctx.peerTable.values()) {
      if (peer.crypto === undefined || !hasPath(peer) || !Number.isFinite(peer.lastSeenAt)) continue;
      const silent = now - peer.lastSeenAt;
      if (peer.recoveringSince !== undefined) {
        if (
          now - peer.recoveringSince >= ctx.directTimeoutMs &&
          !peer.relay &&
          ctx.beacon.address !== undefined
        ) {
          ctx.log('info', 'silent path not recovered directly, relaying', { node_id: peer.nodeId });
          ctx.relay.activate(peer);
          ctx.keys.sendPila(peer, false);
        }
        if (now - peer.recoveringSince < ctx.directTimeoutMs * 2) continue;
        peer.recoveringSince = undefined;
      }
      const sending = now - peer.lastSentAt < 1500 && peer.lastSentAt > peer.lastSeenAt;
      const stale = (sending && silent > SILENT_WHILE_SENDING_MS) || silent > ctx.keepaliveMs * 2.5;
      if (!stale || peer.recoveries >= MAX_RECOVERIES) continue;
      peer.recoveries++;
      peer.recoveringSince = now;
      peer.proofAwaited = true;
      ctx.count('path_lost');
      ctx.emit({ type: 'tunnel.path_lost', node_id: peer.nodeId, silent_ms: Math.round(silent) });
      ctx.log('info', 'path silent, searching again', {
        node_id: peer.nodeId,
        silent_ms: Math.round(silent),
      });
      void this.recover(peer);
    }
  }

  private async recover(peer: Peer): Promise<void> {
    const ctx = this.ctx;
    const started = performance.now();
    // First a PILK, which asks the peer for its PILA: a healthy path answers at once
    // (authenticated), so a peer that was merely quiet is not taken for lost.
    ctx.paths.sendFrame(peer, ctx.keys.pilkFrame());
    // Meanwhile, where the registry says the peer is now: a peer that restarted (or whose NAT gave
    // it a new mapping) registered its new endpoint there, and nothing we send to the old one
    // reaches it. The beacon's punch (below) finds it too, but only once the beacon has believed
    // the new endpoint, and a second later.
    this.probeRegistryEndpoint(peer);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        ctx.timers.delete(timer);
        resolve();
      }, PROBE_WAIT_MS);
      ctx.timers.add(timer);
    });
    if (ctx.closed || peer.lastSeenAt >= started) return;
    if (ctx.reflectors !== undefined) await ctx.punching.classify();
    if (ctx.closed) return;
    ctx.count('path_repunch');
    ctx.beacon.requestPunch(peer.nodeId);
    ctx.paths.sendFrame(peer, ctx.keys.pilkFrame());
  }

  /**
   * Our PILA and a PILK to the endpoints the registry now lists for `peer`, other than the path we
   * use. Nothing moves here: the path moves only when the peer answers there with an authenticated
   * frame under a key it could not replay (a new session's PILA, or a PILS), as on any path.
   */
  private probeRegistryEndpoint(peer: Peer): void {
    const ctx = this.ctx;
    if (ctx.tlsPath.active) return;
    if (!this.registryProbes.take(1, performance.now())) {
      ctx.count('path_registry_probes_deferred');
      return;
    }
    ctx.directory.resolve(peer.nodeId).then(
      (found) => {
        if (ctx.closed || ctx.tlsPath.active) return;
        for (const candidate of ctx.paths.candidatesOf(found)) {
          if (
            !peer.relay &&
            peer.side === undefined &&
            peer.endpoint !== undefined &&
            sameUdpAddress(candidate, peer.endpoint)
          )
            continue;
          ctx.count('path_registry_probes');
          ctx.sendRawTo(ctx.keys.pilaFrame(peer.nodeId), candidate);
          ctx.sendRawTo(ctx.keys.pilkFrame(), candidate);
        }
      },
      (error: unknown) => ctx.log('debug', 'resolve failed', { node_id: peer.nodeId, error: String(error) }),
    );
  }

  /** Keepalives: discover to the beacon (its mapping), and a sealed empty frame to every keyed peer. */
  keepalive(): void {
    const ctx = this.ctx;
    if (ctx.closed) return;
    void ctx.beacon.discover();
    for (const peer of ctx.peerTable.values()) {
      if (!hasPath(peer)) continue;
      ctx.count('keepalives_sent');
      if (peer.crypto !== undefined && peer.authenticated) {
        // An empty sealed frame is authenticated and replay-protected, so it moves the tunnel when
        // our NAT mapping changed; a reference peer drops it as an empty packet.
        ctx.paths.sendFrame(peer, peer.crypto.seal(new Uint8Array(0)));
      } else if (!peer.relay) {
        ctx.paths.sendFrame(peer, PUNCH_FRAME);
      }
    }
  }
}
