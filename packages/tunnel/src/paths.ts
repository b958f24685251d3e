import type { Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { formatUdpAddress, sameUdpAddress, type UdpAddress } from '@pilot/wire';
import type { TunnelContext } from './context.js';
import { lanCandidates } from './lan.js';
import type { Peer, Via } from './peer.js';

/** A relayed frame does not take a peer off its direct path if that path was heard from this recently. */
const DIRECT_FRESH_MS = 3000;

/**
 * Path choice: which path a peer is on (direct endpoint, birthday socket or relay), moving it when
 * an authenticated frame proves a new one, the candidate endpoints to try, and sending by the path.
 */
export class Paths {
  constructor(private readonly ctx: TunnelContext) {}

  candidatesOf(where: {
    endpoint?: UdpAddress | undefined;
    lanAddrs?: readonly UdpAddress[] | undefined;
  }): UdpAddress[] {
    const out: UdpAddress[] = [];
    const add = (address: UdpAddress | undefined): void => {
      if (address === undefined || address.port < 1 || address.port > 0xffff) return;
      if (!out.some((known) => sameUdpAddress(known, address))) out.push(address);
    };
    add(where.endpoint);
    for (const lan of lanCandidates(where.lanAddrs ?? [], where.endpoint)) add(lan);
    return out;
  }

  /** Book-keeping for a frame that proved it came from `peer`, and the path it came by. */
  authenticatedFrom(peer: Peer, via: Via, mayMove: boolean): void {
    const ctx = this.ctx;
    const now = performance.now();
    peer.lastSeenAt = now;
    if (peer.recoveringSince !== undefined) {
      peer.recoveringSince = undefined;
      ctx.count('path_recovered');
    }
    peer.recoveries = 0;
    if (peer.setupMs === undefined && peer.setupStart !== undefined) peer.setupMs = now - peer.setupStart;
    ctx.punching.settlePunch(via);
    if (via.kind === 'relay') {
      if (!peer.relay && (peer.endpoint === undefined || now - peer.lastDirectAt > DIRECT_FRESH_MS)) {
        ctx.relay.activate(peer);
      }
      return;
    }
    // --transport tcp: every peer is on the TLS relay, even if UDP frames get through.
    if (ctx.tlsPath.mode === 'tcp') {
      ctx.relay.activate(peer);
      return;
    }
    peer.lastDirectAt = now;
    const sideSocket = via.kind === 'side' ? via.socket : undefined;
    const samePath =
      peer.endpoint !== undefined && sameUdpAddress(peer.endpoint, via.from) && peer.side === sideSocket;
    if (samePath && !peer.relay) return;
    if (!mayMove && !peer.relay && peer.endpoint !== undefined && via.kind === 'direct') {
      // A same-key PILA (which anyone could replay) never moves a direct tunnel; a PILS does.
      ctx.count('pila_not_moved');
      return;
    }
    // A first path, a replay-protected PILS from a new endpoint (our peer's NAT mapping changed), a
    // fresh key, a birthday socket, or a direct PILA while relayed (the upgrade the search is for).
    this.setDirect(peer, via.from, sideSocket);
  }

  setDirect(peer: Peer, endpoint: UdpAddress, side?: Socket): void {
    const ctx = this.ctx;
    const moved = peer.endpoint !== undefined && !sameUdpAddress(peer.endpoint, endpoint) && !peer.relay;
    const restored = peer.relay;
    if (peer.side !== undefined && peer.side !== side) ctx.punching.releaseSide(peer.side);
    // A copy: `endpoint` may be a datagram's RemoteInfo (more fields than a path needs to keep).
    peer.endpoint = { address: endpoint.address, port: endpoint.port };
    peer.side = side;
    peer.relay = false;
    peer.lastDirectAt = performance.now();
    if (restored) {
      ctx.count('direct_restored');
      ctx.emit({
        type: 'tunnel.direct_restored',
        node_id: peer.nodeId,
        endpoint: formatUdpAddress(endpoint),
      });
      ctx.log('info', 'direct path restored', {
        node_id: peer.nodeId,
        endpoint: formatUdpAddress(endpoint),
      });
    } else if (moved) {
      ctx.count('moved');
      ctx.emit({ type: 'tunnel.moved', node_id: peer.nodeId, endpoint: formatUdpAddress(endpoint) });
    }
  }

  /** Sends a tunnel frame (a sealed packet, key exchange, keepalive) by the peer's current path. */
  sendFrame(peer: Peer, frame: Uint8Array): void {
    const ctx = this.ctx;
    const beacon = ctx.beacon.address;
    if (peer.relay && ctx.tlsPath.active) {
      ctx.tlsPath.send(peer.nodeId, frame);
    } else if (peer.relay && beacon !== undefined) {
      ctx.count('relay_sent');
      ctx.sendRawTo(ctx.relay.wrap(peer.nodeId, frame), beacon);
    } else if (peer.side !== undefined && peer.endpoint !== undefined) {
      peer.side.send(frame, peer.endpoint.port, peer.endpoint.address, () => {});
    } else if (peer.endpoint !== undefined) {
      ctx.sendRawTo(frame, peer.endpoint);
    }
  }

  /** Sends a frame back by the path another frame came in by. */
  sendVia(node: number, via: Via, frame: Uint8Array): void {
    const ctx = this.ctx;
    const beacon = ctx.beacon.address;
    if (via.kind === 'relay') {
      if (ctx.tlsPath.active) ctx.tlsPath.send(node, frame);
      else if (beacon !== undefined) ctx.sendRawTo(ctx.relay.wrap(node, frame), beacon);
    } else if (via.kind === 'side') {
      via.socket.send(frame, via.from.port, via.from.address, () => {});
    } else {
      ctx.sendRawTo(frame, via.from);
    }
  }
}
