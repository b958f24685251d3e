import { performance } from 'node:perf_hooks';
import { PUNCH_FRAME } from '@pilot/nat';
import type { UdpAddress } from '@pilot/wire';
import type { TunnelContext } from './context.js';
import { TunnelErrorCode, tunnelError } from './errors.js';
import type { Waiter } from './peer.js';
import type { PeerInfo } from './types.js';

/** How often ensureTunnel re-sends its PILA to the candidate endpoints while waiting. */
const ENSURE_RESEND_MS = 400;
/** While ensureTunnel waits for a direct path, the punch request is repeated this often. */
const PUNCH_REPEAT_MS = 2000;

/**
 * Setting a tunnel up (`ensureTunnel`): the punch request, the registry's key and endpoints, our
 * PILA and PILK to every candidate until the peer answers, and the relay after directTimeoutMs.
 */
export class TunnelSetup {
  private readonly ensures = new Map<number, Promise<PeerInfo>>();

  constructor(private readonly ctx: TunnelContext) {}

  /** Resolves once authenticated keys exist with the node (direct or relayed). */
  ensureTunnel(nodeId: number, options: { timeoutMs?: number } = {}): Promise<PeerInfo> {
    const ctx = this.ctx;
    if (ctx.closed || ctx.socket === undefined) {
      return Promise.reject(tunnelError(TunnelErrorCode.CLOSED, 'tunnel manager is not started'));
    }
    if (nodeId === ctx.nodeId) {
      return Promise.reject(tunnelError(TunnelErrorCode.UNREACHABLE, 'that is our own node'));
    }
    const existing = ctx.peerTable.get(nodeId);
    if (existing !== undefined && ctx.ready(existing)) return Promise.resolve(ctx.info(existing));
    const running = this.ensures.get(nodeId);
    if (running !== undefined) return running;
    const promise = this.establish(nodeId, options.timeoutMs ?? Math.max(ctx.directTimeoutMs + 6000, 10_000));
    this.ensures.set(nodeId, promise);
    const clear = (): void => {
      this.ensures.delete(nodeId);
    };
    promise.then(clear, clear);
    return promise;
  }

  private async establish(nodeId: number, timeoutMs: number): Promise<PeerInfo> {
    const ctx = this.ctx;
    const started = performance.now();
    const peer = ctx.peerOf(nodeId);
    peer.setupStart = started;
    peer.setupMs = undefined;
    peer.badKey = false;
    // The punch request goes first: the peer's NAT needs the beacon's command as early as possible.
    const beacon = ctx.beacon.address;
    if (beacon !== undefined) ctx.beacon.requestPunch(nodeId);
    const keyPromise = ctx.encrypt ? ctx.keyCache.get(nodeId) : Promise.resolve(undefined);
    let where: { endpoint?: UdpAddress | undefined; lanAddrs?: readonly UdpAddress[] | undefined } = {};
    try {
      where = await ctx.directory.resolve(nodeId);
    } catch (error) {
      ctx.log('debug', 'resolve failed', { node_id: nodeId, error: String(error) });
      if (peer.endpoint !== undefined) where = { endpoint: peer.endpoint };
    }
    // The peer's IPs, now known: only a command towards them answers our punch request.
    const ips = [where.endpoint, ...(where.lanAddrs ?? [])].flatMap((a) =>
      a === undefined ? [] : [a.address],
    );
    if (beacon !== undefined && ips.length > 0) ctx.punching.asked(nodeId, ips);
    if (ctx.encrypt && (await keyPromise) === undefined) {
      throw tunnelError(TunnelErrorCode.UNREACHABLE, `node ${nodeId} has no key in the registry`);
    }
    const candidates = ctx.paths.candidatesOf(where);
    if (candidates.length === 0 && beacon === undefined) {
      throw tunnelError(TunnelErrorCode.UNREACHABLE, `no endpoint known for node ${nodeId} and no beacon`);
    }
    if (ctx.closed) throw tunnelError(TunnelErrorCode.CLOSED, 'tunnel manager closed');
    if (!ctx.encrypt) {
      const first = candidates[0];
      if (first === undefined)
        throw tunnelError(TunnelErrorCode.UNREACHABLE, `no endpoint for node ${nodeId}`);
      ctx.paths.setDirect(peer, first);
      ctx.sendRawTo(PUNCH_FRAME, first);
      peer.setupMs = performance.now() - started;
      return ctx.info(peer);
    }
    return new Promise<PeerInfo>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (info) => {
          cleanup();
          resolve(info);
        },
        reject: (error) => {
          cleanup();
          reject(error);
        },
      };
      peer.waiters ??= [];
      peer.waiters.push(waiter);
      // Relaying over TLS: UDP is not answering, so there is no direct path to wait for.
      let relayAt = started + (ctx.tlsPath.active ? 0 : ctx.directTimeoutMs);
      let punchAt = started + PUNCH_REPEAT_MS;
      const tick = (): void => {
        if (ctx.ready(peer)) {
          ctx.settle(peer);
          return;
        }
        const now = performance.now();
        if (now - started >= timeoutMs) {
          const rest = peer.waiters?.filter((w) => w !== waiter) ?? [];
          peer.waiters = rest.length === 0 ? undefined : rest;
          waiter.reject(
            peer.badKey
              ? tunnelError(
                  TunnelErrorCode.BAD_KEY,
                  `node ${nodeId} answered with a key the registry does not hold`,
                )
              : tunnelError(
                  TunnelErrorCode.TIMEOUT,
                  `no authenticated answer from node ${nodeId} in ${timeoutMs} ms`,
                ),
          );
          return;
        }
        // Our PILA, and a PILK asking for theirs: a peer that still holds keys for us (we forgot
        // ours, or restarted) would not send its PILA again on its own.
        // (Not while relaying over TLS: UDP does not get through, and a peer that heard one of
        // these would answer on a path we cannot hear.)
        for (const candidate of ctx.tlsPath.active ? [] : candidates) {
          ctx.sendRawTo(ctx.keys.pilaFrame(nodeId), candidate);
          ctx.sendRawTo(ctx.keys.pilkFrame(), candidate);
        }
        if (beacon !== undefined && !peer.relay && now >= punchAt) {
          // Punch requests are single UDP datagrams: repeat one in case it (or a command) was lost.
          ctx.beacon.requestPunch(nodeId);
          punchAt = now + PUNCH_REPEAT_MS;
        }
        if (beacon !== undefined && now >= relayAt) {
          if (!peer.relay) {
            ctx.log('info', 'no direct path yet, relaying', { node_id: nodeId });
            ctx.relay.activate(peer);
          }
          ctx.paths.sendFrame(peer, ctx.keys.pilaFrame(nodeId));
          ctx.paths.sendFrame(peer, ctx.keys.pilkFrame());
          relayAt = now + 1000;
        }
      };
      const interval = setInterval(tick, ENSURE_RESEND_MS);
      ctx.timers.add(interval);
      const cleanup = (): void => {
        clearInterval(interval);
        ctx.timers.delete(interval);
      };
      tick();
    });
  }
}
