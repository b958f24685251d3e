import { createHash } from 'node:crypto';
import { type Identity, sign, verify } from '@pilot/crypto';
import { type NodeInfo, toBase64 } from '@pilot/directory/client';
import { DaemonErrorCode, daemonError, errorMessage } from './errors.js';
import { type KeyPins, keyFingerprint } from './key-pins.js';
import type { Logger } from './logger.js';
import type { RegistrySession } from './registry-session.js';
import type { ServiceStream } from './services/service-context.js';
import type { TrustStore } from './trust-store.js';

/** The port-444 message (spec §9, reference §5.2). */
export interface HandshakeMessage {
  type: 'handshake_request' | 'handshake_accept' | 'handshake_reject' | 'handshake_revoke';
  node_id: number;
  public_key?: string;
  justification?: string;
  signature?: string;
  reason?: string;
  timestamp: number;
}

const TYPES = new Set(['handshake_request', 'handshake_accept', 'handshake_reject', 'handshake_revoke']);
const MAX_AGE_S = 300;
const MAX_FUTURE_S = 30;
const REPLAY_CAPACITY = 8192;
const MAX_MESSAGE = 64 * 1024;

export interface TrustManagerOptions {
  readonly identity: Identity;
  readonly store: TrustStore;
  /** Trusted peers' keys: a registry answer naming another key is not believed. */
  readonly keyPins: KeyPins;
  readonly session: RegistrySession;
  readonly log: Logger;
  readonly autoApprove: boolean;
  readonly nodeId: () => number;
  /** Delivers a message to `node`'s port 444 (dial, write, close); rejects when it cannot. */
  readonly sendDirect: (node: number, message: HandshakeMessage) => Promise<void>;
  /** A peer is no longer trusted: drop its tunnel state and connections. */
  readonly onRevoked: (node: number) => void;
  readonly emit: (event: string, data: Record<string, unknown>) => void;
}

/**
 * Trust (reference §5): private by default; requests, approvals, rejections and revocations over port
 * 444 when the peer can be reached, through the registry relay when not; mutual requests approve
 * each other; trusted peers are kept in trust.json and reported to the registry.
 */
export class TrustManager {
  readonly #o: TrustManagerOptions;
  readonly #seen = new Map<string, number>();
  /** When (unix seconds, our clock) each peer last asked us for trust: an older revoke from it is stale. */
  readonly #askedAt = new Map<number, number>();
  #reaper: NodeJS.Timeout;
  rejectedMessages = 0;

  constructor(options: TrustManagerOptions) {
    this.#o = options;
    this.#reaper = setInterval(() => this.#reap(), 60_000);
    this.#reaper.unref();
  }

  close(): void {
    clearInterval(this.#reaper);
  }

  isTrusted(node: number): boolean {
    return this.#o.store.isTrusted(node);
  }

  #message(
    type: HandshakeMessage['type'],
    to: number,
    extra: Partial<HandshakeMessage> = {},
  ): HandshakeMessage {
    const from = this.#o.nodeId();
    const signature = sign(this.#o.identity, new TextEncoder().encode(`handshake:${from}:${to}`));
    return {
      type,
      node_id: from,
      public_key: toBase64(this.#o.identity.publicKey),
      signature: toBase64(signature),
      timestamp: Math.floor(Date.now() / 1000),
      ...extra,
    };
  }

  /** The registry's key for `node`, unless `node` is trusted under another key (then the pinned one). */
  async #publicKeyOf(node: number): Promise<string> {
    let info: NodeInfo;
    try {
      info = await this.#o.session.call((client) => client.lookup(node));
    } catch {
      return this.#o.keyPins.pinned(node) ?? '';
    }
    return this.#o.keyPins.check(node, info, 'lookup');
  }

  async #reportTrust(node: number): Promise<void> {
    try {
      await this.#o.session.call((client) =>
        client.reportTrust(this.#o.session.signer, this.#o.nodeId(), node),
      );
    } catch (error) {
      this.#o.log.warn('report_trust failed', { peer: node, error: errorMessage(error) });
    }
  }

  /** Re-reports every trusted peer (after a re-registration, reference §5.4). */
  async reportAll(): Promise<void> {
    for (const node of this.#o.store.trusted.keys()) await this.#reportTrust(node);
  }

  /** Asks `node` for trust: direct over port 444 when possible, else through the registry. */
  async request(
    node: number,
    justification: string,
  ): Promise<{ status: string; node_id: number; via: string }> {
    if (node === this.#o.nodeId() || node === 0)
      throw daemonError(DaemonErrorCode.INVALID_ARGUMENT, 'cannot ask yourself for trust');
    if (this.#o.store.isTrusted(node) && this.#o.store.trusted.get(node)?.mutual === true) {
      return { status: 'trusted', node_id: node, via: 'none' };
    }
    this.#o.store.addOutgoing(node, justification);
    // A request that crosses one of theirs is mutual: approve theirs at once.
    if (this.#o.store.pending.has(node)) {
      await this.approve(node);
      return { status: 'approved', node_id: node, via: 'mutual' };
    }
    try {
      await this.#o.sendDirect(node, this.#message('handshake_request', node, { justification }));
      this.#o.emit('handshake.sent', { peer: node, via: 'direct' });
      return { status: 'sent', node_id: node, via: 'direct' };
    } catch (error) {
      this.#o.log.debug('direct handshake failed, relaying', { peer: node, error: errorMessage(error) });
    }
    try {
      await this.#o.session.call((client) =>
        client.requestHandshake(this.#o.session.signer, this.#o.nodeId(), node, justification),
      );
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'DIR_ALREADY') {
        this.#o.store.removeOutgoing(node);
        throw error;
      }
    }
    this.#o.emit('handshake.sent', { peer: node, via: 'registry' });
    return { status: 'sent', node_id: node, via: 'registry' };
  }

  async approve(node: number): Promise<{ status: string; node_id: number }> {
    const store = this.#o.store;
    if (!store.pending.has(node) && !store.outgoing.has(node) && !store.isTrusted(node)) {
      // Nobody asked: an explicit pre-approval. Our half of the pair goes to the registry, which
      // reveals nothing until the other side asks; no accept is sent to a node that did not ask.
      if (node === this.#o.nodeId() || node === 0)
        throw daemonError(DaemonErrorCode.INVALID_ARGUMENT, 'cannot trust yourself');
      store.trust(node, await this.#publicKeyOf(node), false);
      this.#o.log.info('peer pre-approved (trusted once it asks)', { peer: node });
      this.#o.emit('handshake.preapproved', { peer: node });
      await this.#reportTrust(node);
      return { status: 'pre-approved', node_id: node };
    }
    const pending = store.pending.get(node);
    const publicKey = pending?.public_key || (await this.#publicKeyOf(node));
    this.#o.store.trust(node, publicKey, true);
    this.#o.log.info('peer trusted', { peer: node });
    this.#o.emit('handshake.approved', { peer: node });
    await this.#respond(node, true, '');
    await this.#reportTrust(node);
    return { status: 'approved', node_id: node };
  }

  async reject(node: number, reason: string): Promise<{ status: string; node_id: number }> {
    const had = this.#o.store.removePending(node);
    if (had === undefined)
      throw daemonError(DaemonErrorCode.NOT_FOUND, `no pending request from node ${node}`);
    this.#o.emit('handshake.rejected', { peer: node, reason });
    await this.#respond(node, false, reason);
    return { status: 'rejected', node_id: node };
  }

  async revoke(node: number): Promise<{ status: string; node_id: number }> {
    const had = this.#o.store.isTrusted(node);
    this.#o.store.removePending(node);
    this.#o.store.removeOutgoing(node);
    if (!had) throw daemonError(DaemonErrorCode.NOT_FOUND, `node ${node} is not trusted`);
    try {
      await this.#o.sendDirect(node, this.#message('handshake_revoke', node));
    } catch {
      // The peer learns it when its streams are refused; the registry pair goes below.
    }
    try {
      await this.#o.session.call((client) =>
        client.revokeTrust(this.#o.session.signer, this.#o.nodeId(), node),
      );
    } catch (error) {
      this.#o.log.warn('revoke_trust failed', { peer: node, error: errorMessage(error) });
    }
    this.#o.store.untrust(node);
    this.#o.onRevoked(node);
    this.#o.log.info('trust revoked', { peer: node });
    this.#o.emit('trust.revoked', { peer: node });
    return { status: 'revoked', node_id: node };
  }

  /** Sends an accept or reject: through the registry (always, it records the pair) and directly (quicker). */
  async #respond(node: number, accept: boolean, reason: string): Promise<void> {
    try {
      await this.#o.session.call((client) =>
        client.respondHandshake(this.#o.session.signer, this.#o.nodeId(), node, accept),
      );
    } catch (error) {
      this.#o.log.debug('respond_handshake failed', { peer: node, error: errorMessage(error) });
    }
    const message = accept
      ? this.#message('handshake_accept', node)
      : this.#message('handshake_reject', node, { reason });
    this.#o.sendDirect(node, message).catch((error: unknown) => {
      this.#o.log.debug('direct handshake reply failed', { peer: node, error: errorMessage(error) });
    });
  }

  pendingJson(): { pending: { node_id: number; justification: string; received_at: string }[] } {
    return {
      pending: [...this.#o.store.pending.values()].map((p) => ({
        node_id: p.node_id,
        justification: p.justification,
        received_at: p.received_at,
        public_key: p.public_key,
        via: p.via ?? 'direct',
      })),
    };
  }

  trustedJson(): {
    trusted: {
      node_id: number;
      public_key: string;
      key_fingerprint: string;
      approved_at: string;
      mutual: boolean;
    }[];
  } {
    return {
      trusted: [...this.#o.store.trusted.values()].map((peer) => ({
        ...peer,
        key_fingerprint: keyFingerprint(peer.public_key),
      })),
    };
  }

  /** Port 444: one JSON message per stream. */
  serve(served: ServiceStream, remoteNode: number): void {
    const { stream } = served;
    const parts: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      const text = Buffer.concat(parts).toString('utf8');
      stream.end();
      void this.#receive(text, remoteNode, 'direct').catch((error: unknown) =>
        this.#o.log.warn('handshake message failed', { peer: remoteNode, error: errorMessage(error) }),
      );
    };
    stream.on('data', (chunk: Buffer) => {
      if (done) return;
      parts.push(chunk);
      size += chunk.length;
      if (size > MAX_MESSAGE) {
        done = true;
        stream.destroy();
        return;
      }
      // A JSON object is complete only when a chunk ends in `}`: parse then, not on every chunk.
      if (!/}\s*$/.test(chunk.toString('latin1', Math.max(0, chunk.length - 8)))) return;
      try {
        JSON.parse(Buffer.concat(parts).toString('utf8'));
        finish();
      } catch {
        // Not complete yet: wait for more or the end.
      }
    });
    stream.on('end', finish);
    stream.on('error', () => stream.destroy());
  }

  /** Checks a port-444 message (age, replay, sender, signature against the registry's key). */
  async #check(text: string, remoteNode: number): Promise<HandshakeMessage | string> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return 'not JSON';
    }
    if (typeof parsed !== 'object' || parsed === null) return 'not an object';
    const m = parsed as Record<string, unknown>;
    if (typeof m.type !== 'string' || !TYPES.has(m.type)) return 'unknown type';
    if (typeof m.node_id !== 'number' || m.node_id !== remoteNode) return 'node_id is not the sender';
    if (typeof m.timestamp !== 'number') return 'no timestamp';
    for (const field of ['justification', 'reason'] as const)
      if (m[field] !== undefined && typeof m[field] !== 'string') return `${field} is not text`;
    const now = Date.now() / 1000;
    if (m.timestamp < now - MAX_AGE_S || m.timestamp > now + MAX_FUTURE_S) return 'stale or future timestamp';
    const digest = createHash('sha256').update(JSON.stringify(m)).digest('hex');
    if (this.#seen.has(digest)) return 'replayed';
    if (this.#seen.size >= REPLAY_CAPACITY) this.#reap(true);
    this.#seen.set(digest, m.timestamp);
    // Ours: a signature is required (the reference skips the check when public_key is absent).
    if (typeof m.public_key !== 'string' || typeof m.signature !== 'string') return 'unsigned';
    const registryKey = await this.#publicKeyOf(remoteNode);
    if (registryKey === '' || registryKey !== m.public_key) return "public key is not the registry's";
    const key = new Uint8Array(Buffer.from(m.public_key, 'base64'));
    const signature = new Uint8Array(Buffer.from(m.signature, 'base64'));
    const signed = new TextEncoder().encode(`handshake:${remoteNode}:${this.#o.nodeId()}`);
    if (!verify(signature, signed, key)) return 'bad signature';
    return m as unknown as HandshakeMessage;
  }

  async #receive(text: string, remoteNode: number, via: 'direct'): Promise<void> {
    const checked = await this.#check(text, remoteNode);
    if (typeof checked === 'string') {
      this.rejectedMessages++;
      this.#o.log.warn('handshake message refused', { peer: remoteNode, reason: checked });
      return;
    }
    switch (checked.type) {
      case 'handshake_request':
        await this.#onRequest(remoteNode, checked.justification ?? '', checked.public_key ?? '', via);
        return;
      case 'handshake_accept':
        await this.#onAccept(remoteNode);
        return;
      case 'handshake_reject':
        this.#onReject(remoteNode, checked.reason ?? '');
        return;
      case 'handshake_revoke':
        // The reference drops its tunnel and the registry pair before it sends its revoke, which
        // then may reach us long after (through its relay), even after the peer asked us again.
        if (checked.timestamp < (this.#askedAt.get(remoteNode) ?? 0)) {
          this.#o.log.info('stale revoke ignored: the peer has asked for trust since', { peer: remoteNode });
          return;
        }
        await this.#onRevoke(remoteNode);
        return;
    }
  }

  async #onRequest(
    node: number,
    justification: string,
    publicKey: string,
    via: 'direct' | 'registry',
  ): Promise<void> {
    const store = this.#o.store;
    this.#askedAt.set(node, Math.floor(Date.now() / 1000));
    this.#o.emit('handshake.received', { peer: node, justification, via });
    if (store.isTrusted(node) || store.outgoing.has(node) || this.#o.autoApprove) {
      const why = store.isTrusted(node)
        ? 'already trusted'
        : store.outgoing.has(node)
          ? 'mutual'
          : 'auto-approve';
      this.#o.log.info('handshake approved', { peer: node, why });
      store.pending.set(node, {
        node_id: node,
        public_key: publicKey,
        justification,
        received_at: new Date().toISOString(),
        via,
      });
      await this.approve(node);
      return;
    }
    if (
      !store.addPending({
        node_id: node,
        public_key: publicKey,
        justification,
        received_at: new Date().toISOString(),
        via,
      })
    ) {
      this.#o.log.warn('pending handshake list is full; request dropped', { peer: node });
      return;
    }
    this.#o.log.info('handshake pending', { peer: node, justification });
    this.#o.emit('handshake.pending', { peer: node, justification });
  }

  async #onAccept(node: number): Promise<void> {
    const store = this.#o.store;
    if (!store.outgoing.has(node) && !store.isTrusted(node)) {
      this.#o.log.warn('accept for a request we did not send', { peer: node });
      return;
    }
    const fresh = !store.isTrusted(node) || store.trusted.get(node)?.mutual !== true;
    store.trust(node, await this.#publicKeyOf(node), true);
    if (fresh) {
      this.#o.log.info('peer accepted our handshake', { peer: node });
      this.#o.emit('handshake.accepted', { peer: node });
      await this.#reportTrust(node);
    }
  }

  #onReject(node: number, reason: string): void {
    if (!this.#o.store.outgoing.has(node)) return;
    this.#o.store.removeOutgoing(node);
    this.#o.log.info('peer rejected our handshake', { peer: node, reason });
    this.#o.emit('handshake.rejected_by_peer', { peer: node, reason });
  }

  async #onRevoke(node: number): Promise<void> {
    if (!this.#o.store.isTrusted(node)) return;
    try {
      await this.#o.session.call((client) =>
        client.revokeTrust(this.#o.session.signer, this.#o.nodeId(), node),
      );
    } catch {
      // The pair may be gone already.
    }
    this.#o.store.untrust(node);
    this.#o.onRevoked(node);
    this.#o.log.info('peer revoked its trust', { peer: node });
    this.#o.emit('trust.revoked_by_peer', { peer: node });
  }

  /** Handles what the registry relayed (poll_handshakes reply). */
  async onPoll(reply: Record<string, unknown>): Promise<void> {
    const requests = Array.isArray(reply.requests) ? reply.requests : [];
    const responses = Array.isArray(reply.responses) ? reply.responses : [];
    // Responses first: they answer our earlier requests. A peer that rejects ours and then asks us
    // itself (both relayed, so both arrive in one poll) must not find our rejected request still
    // outgoing, or its request would count as the other half of a mutual handshake and be trusted.
    for (const item of responses as Record<string, unknown>[]) {
      const from = item?.from_node_id;
      if (typeof from !== 'number') continue;
      if (item.accept === true) await this.#onAccept(from);
      else this.#onReject(from, 'rejected through the registry');
    }
    for (const item of requests as Record<string, unknown>[]) {
      const from = item?.from_node_id;
      if (typeof from !== 'number') continue;
      const justification = typeof item.justification === 'string' ? item.justification : '';
      await this.#onRequest(from, justification, await this.#publicKeyOf(from), 'registry');
    }
  }

  #reap(force = false): void {
    const oldest = Date.now() / 1000 - MAX_AGE_S - MAX_FUTURE_S;
    for (const [digest, timestamp] of this.#seen)
      if (force || timestamp < oldest) {
        if (timestamp < oldest || this.#seen.size >= REPLAY_CAPACITY) this.#seen.delete(digest);
      }
  }
}
