import { performance } from 'node:perf_hooks';
import { SEALED_FRAME_OVERHEAD } from '@pilot/crypto';
import { FrameSlab } from '@pilot/transport/node';
import { packetSourceNode, TunnelMagic, type UdpAddress } from '@pilot/wire';
import { readU32 } from './bytes.js';
import type { TunnelContext } from './context.js';
import { hasPath, type Peer, type Via } from './peer.js';

/** Packets held per peer until its keys exist (the oldest is dropped), and peers that may hold some. */
const QUEUE_LIMIT = 64;
const QUEUED_PEERS_LIMIT = 256;
/** Consecutive PILS failures from a keyed peer before we ask for its PILA again (with a PILK). */
const KEY_REQUEST_AFTER_FAILURES = 3;

/**
 * The codec: sealing packets into PILS (in place into slab views) or PILT, opening frames by their
 * magic (PILS in place, PILA/PILK to the key exchange, PILP, PILT), and the queue of packets waiting
 * for a peer's keys.
 */
export class Sealing {
  private readonly slab = new FrameSlab();

  constructor(private readonly ctx: TunnelContext) {}

  /**
   * Seals a packet for a node and sends it by the node's path; a node without a path gets nothing
   * (the transport's connect checks `reaches` first). `packet` is only read during the call: sealing
   * writes a new frame, queueing copies.
   */
  send(packet: Uint8Array, node: number): void {
    const ctx = this.ctx;
    if (ctx.closed) return;
    const peer = ctx.peerTable.get(node);
    if (peer === undefined || !hasPath(peer)) {
      ctx.count('unroutable');
      return;
    }
    if (!ctx.encrypt) {
      const frame = new Uint8Array(4 + packet.length);
      new DataView(frame.buffer).setUint32(0, TunnelMagic.PLAINTEXT);
      frame.set(packet, 4);
      peer.bytesSent += packet.length;
      ctx.paths.sendFrame(peer, frame);
      return;
    }
    const crypto = peer.crypto;
    if (crypto === undefined || !peer.authenticated) {
      this.enqueue(peer, packet);
      ctx.keys.sendPila(peer, false);
      return;
    }
    peer.bytesSent += packet.length;
    peer.lastSentAt = performance.now();
    ctx.count('sealed');
    // Sealed straight into a slab view (see FrameSlab): a fresh array per frame cost more than AES-GCM.
    const frame = this.slab.take(packet.length + SEALED_FRAME_OVERHEAD);
    crypto.sealInto(packet, frame, 0);
    ctx.paths.sendFrame(peer, frame);
  }

  /** A datagram from the tunnel socket: the packet inside it, if any (opened in place). */
  open(frame: Uint8Array, from: UdpAddress): Uint8Array | undefined {
    if (this.ctx.closed || frame.length === 0) return undefined;
    if (frame[0]! < 0x10) {
      // Beacon messages: the beacon client handles replies and punch commands; relay deliveries are ours.
      if (frame[0] !== 0x06) return undefined;
      return this.ctx.relay.openDeliver(frame, from);
    }
    return this.openTunnelFrame(frame, { kind: 'direct', from });
  }

  openTunnelFrame(frame: Uint8Array, via: Via, relaySource?: number): Uint8Array | undefined {
    const ctx = this.ctx;
    if (frame.length < 4) {
      ctx.drop('truncated');
      return undefined;
    }
    switch (readU32(frame, 0)) {
      case TunnelMagic.ENCRYPTED:
        return this.openSealed(frame, via);
      case TunnelMagic.AUTH_KEY_EXCHANGE:
        ctx.keys.onPila(frame, via);
        return undefined;
      case TunnelMagic.KEY_EXCHANGE:
        ctx.keys.onPilk(frame, via);
        return undefined;
      case TunnelMagic.PUNCH:
        ctx.punching.onPunchFrame(via);
        return undefined;
      case TunnelMagic.PLAINTEXT:
        return this.openPlaintext(frame, via, relaySource);
      default:
        ctx.drop('bad_magic');
        return undefined;
    }
  }

  private openSealed(frame: Uint8Array, via: Via): Uint8Array | undefined {
    const ctx = this.ctx;
    if (frame.length < 36) {
      ctx.drop('truncated');
      return undefined;
    }
    const sender = readU32(frame, 4);
    const peer = ctx.peerTable.get(sender);
    const crypto = peer?.crypto;
    if (peer === undefined || crypto === undefined) {
      ctx.drop('no_keys');
      if (sender !== ctx.nodeId) ctx.keys.requestKey(sender, via);
      return undefined;
    }
    // Every frame given to us is ours (the transport's datagram, a relay delivery, a birthday
    // socket's message) and read no more once opened: decrypt in place.
    const outcome = crypto.open(frame, true);
    if (!outcome.ok) {
      ctx.drop(outcome.reason);
      // One event a second per peer at most: a replay flood must not flood the daemon's webhook.
      const now = performance.now();
      if (outcome.reason === 'replay' && now - peer.lastReplayEventAt >= 1000) {
        peer.lastReplayEventAt = now;
        ctx.emit({ type: 'security.nonce_replay', node_id: sender });
      }
      if (crypto.failures >= KEY_REQUEST_AFTER_FAILURES) ctx.keys.requestKey(sender, via);
      return undefined;
    }
    const packet = outcome.plaintext;
    if (packet.length > 0 && packetSourceNode(packet) !== sender) {
      // A peer may only speak for itself (the key is shared by both ends, so check the source too).
      ctx.drop('spoofed_source');
      return undefined;
    }
    ctx.paths.authenticatedFrom(peer, via, true);
    if (peer.proofAwaited) ctx.proved(peer);
    peer.bytesRecv += packet.length;
    if (packet.length === 0) {
      ctx.count('keepalive_received');
      return undefined;
    }
    ctx.count('opened');
    return packet;
  }

  private openPlaintext(
    frame: Uint8Array,
    via: Via,
    relaySource: number | undefined,
  ): Uint8Array | undefined {
    const ctx = this.ctx;
    if (ctx.encrypt) {
      ctx.drop('plaintext_refused');
      return undefined;
    }
    const packet = frame.subarray(4);
    const sender = packetSourceNode(packet);
    if (sender === undefined) {
      ctx.drop('truncated');
      return undefined;
    }
    if (relaySource !== undefined && relaySource !== sender) {
      ctx.drop('relay_sender_mismatch');
      return undefined;
    }
    // Plaintext mode authenticates nothing: the sender's address is taken as it comes.
    const peer = ctx.peerOf(sender);
    peer.authenticated = false;
    ctx.paths.authenticatedFrom(peer, via, true);
    peer.bytesRecv += packet.length;
    return packet;
  }

  private enqueue(peer: Peer, packet: Uint8Array): void {
    const ctx = this.ctx;
    if (peer.queue === undefined) {
      let queued = 0;
      for (const other of ctx.peerTable.values()) if (other.queue !== undefined) queued++;
      if (queued >= QUEUED_PEERS_LIMIT) {
        ctx.drop('queue_peers_full');
        return;
      }
    }
    peer.queue ??= [];
    const queue = peer.queue;
    queue.push(Uint8Array.from(packet));
    ctx.count('queued');
    if (queue.length > QUEUE_LIMIT) {
      queue.shift();
      ctx.drop('queue_overflow');
    }
  }

  /** Sends the packets queued for a peer once its keys exist. */
  flush(peer: Peer): void {
    const crypto = peer.crypto;
    const queued = peer.queue;
    if (crypto === undefined || queued === undefined) return;
    peer.queue = undefined;
    for (const packet of queued) {
      peer.bytesSent += packet.length;
      this.ctx.paths.sendFrame(peer, crypto.seal(packet));
    }
    this.ctx.count('flushed', queued.length);
  }
}
