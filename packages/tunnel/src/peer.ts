import type { Socket } from 'node:dgram';
import type { UdpAddress } from '@pilot/wire';
import type { TunnelKeys } from './session-crypto.js';
import type { PeerInfo } from './types.js';

/** How a frame reached us: the tunnel socket, the beacon's relay, or a birthday socket. */
export type Via =
  | { readonly kind: 'direct'; readonly from: UdpAddress }
  | { readonly kind: 'relay' }
  | SideVia;
export interface SideVia {
  readonly kind: 'side';
  readonly from: UdpAddress;
  readonly socket: Socket;
}

/** An `ensureTunnel` caller waiting for the peer's keys. */
export interface Waiter {
  readonly resolve: (info: PeerInfo) => void;
  readonly reject: (error: Error) => void;
}

/** One entry of the node → path table: the path, the keys and the book-keeping of one peer. */
export interface Peer {
  readonly nodeId: number;
  endpoint: UdpAddress | undefined;
  /** The birthday socket this peer is reached through (hard side of birthday probing), if any. */
  side: Socket | undefined;
  relay: boolean;
  /** The spec's static key (`PeerCrypto`) or a forward-secret session (`SessionCrypto`). */
  crypto: TunnelKeys | undefined;
  authenticated: boolean;
  /** Packets waiting for the keys; undefined when none (an empty array per idle tunnel cost ~80 bytes). */
  queue: Uint8Array[] | undefined;
  lastPilaSentAt: number;
  pilaReplyTimer: NodeJS.Timeout | undefined;
  lastSeenAt: number;
  lastDirectAt: number;
  lastSentAt: number;
  lastReplayEventAt: number;
  /** When the current recovery of a silent path started, and how many there were since the last frame. */
  recoveringSince: number | undefined;
  recoveries: number;
  /**
   * The path was lost or the peer's keys changed (it restarted): its next sealed frame proves it
   * reads us again, and the transport is told (`TunnelContext.proved`).
   */
  proofAwaited: boolean;
  setupStart: number | undefined;
  setupMs: number | undefined;
  bytesSent: number;
  bytesRecv: number;
  badKey: boolean;
  /** `ensureTunnel` callers waiting; undefined when none. */
  waiters: Waiter[] | undefined;
}

export function createPeer(nodeId: number): Peer {
  return {
    nodeId,
    endpoint: undefined,
    side: undefined,
    relay: false,
    crypto: undefined,
    authenticated: false,
    queue: undefined,
    lastPilaSentAt: Number.NEGATIVE_INFINITY,
    pilaReplyTimer: undefined,
    lastSeenAt: Number.NEGATIVE_INFINITY,
    lastDirectAt: Number.NEGATIVE_INFINITY,
    lastSentAt: Number.NEGATIVE_INFINITY,
    lastReplayEventAt: Number.NEGATIVE_INFINITY,
    recoveringSince: undefined,
    recoveries: 0,
    proofAwaited: false,
    setupStart: undefined,
    setupMs: undefined,
    bytesSent: 0,
    bytesRecv: 0,
    badKey: false,
    waiters: undefined,
  };
}

/** A peer has a path once it has a direct endpoint or is relayed. */
export const hasPath = (peer: Peer): boolean => peer.relay || peer.endpoint !== undefined;
