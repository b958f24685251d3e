import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from './files.js';

export interface TrustedPeer {
  node_id: number;
  /** Base64 Ed25519 key, as the registry holds it (empty when not known yet). */
  public_key: string;
  /** RFC 3339. */
  approved_at: string;
  mutual: boolean;
  network: number;
}

export interface PendingRequest {
  node_id: number;
  public_key: string;
  justification: string;
  /** RFC 3339. */
  received_at: string;
  /** Ours: how the request came ("direct" over port 444 or "registry" relay), to answer the same way. */
  via?: 'direct' | 'registry';
}

export interface OutgoingRequest {
  node_id: number;
  justification: string;
  sent_at: string;
}

/** At most this many pending requests are kept (reference §5.2). */
export const MAX_PENDING = 256;

/**
 * `<home>/trust.json` (reference §5.4): `trusted` and `pending`, plus our `outgoing` (the requests we
 * sent, so that an accept is believed only for a request we made, and a crossing request is mutual).
 * Every change is written atomically.
 */
export class TrustStore {
  readonly path: string;
  readonly trusted: Map<number, TrustedPeer> = new Map();
  readonly pending: Map<number, PendingRequest> = new Map();
  readonly outgoing: Map<number, OutgoingRequest> = new Map();

  constructor(path: string) {
    this.path = path;
    if (!existsSync(path)) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8'));
    } catch {
      return; // A damaged file is replaced at the next change; trust starts empty (private = safe).
    }
    if (typeof parsed !== 'object' || parsed === null) return;
    const record = parsed as Record<string, unknown>;
    for (const item of list(record.trusted)) {
      const id = item.node_id;
      if (typeof id !== 'number' || !Number.isInteger(id)) continue;
      this.trusted.set(id, {
        node_id: id,
        public_key: typeof item.public_key === 'string' ? item.public_key : '',
        approved_at: typeof item.approved_at === 'string' ? item.approved_at : new Date().toISOString(),
        mutual: item.mutual === true,
        network: typeof item.network === 'number' ? item.network : 0,
      });
    }
    for (const item of list(record.pending)) {
      const id = item.node_id;
      if (typeof id !== 'number' || !Number.isInteger(id)) continue;
      this.pending.set(id, {
        node_id: id,
        public_key: typeof item.public_key === 'string' ? item.public_key : '',
        justification: typeof item.justification === 'string' ? item.justification : '',
        received_at: typeof item.received_at === 'string' ? item.received_at : new Date().toISOString(),
        ...(item.via === 'direct' || item.via === 'registry' ? { via: item.via } : {}),
      });
    }
    for (const item of list(record.outgoing)) {
      const id = item.node_id;
      if (typeof id !== 'number' || !Number.isInteger(id)) continue;
      this.outgoing.set(id, {
        node_id: id,
        justification: typeof item.justification === 'string' ? item.justification : '',
        sent_at: typeof item.sent_at === 'string' ? item.sent_at : new Date().toISOString(),
      });
    }
  }

  isTrusted(nodeId: number): boolean {
    return this.trusted.has(nodeId);
  }

  trust(nodeId: number, publicKey: string, mutual: boolean): TrustedPeer {
    const existing = this.trusted.get(nodeId);
    const peer: TrustedPeer = {
      node_id: nodeId,
      // A key once pinned stays: only a checked rotation (KeyPins) moves it.
      public_key: existing !== undefined && existing.public_key !== '' ? existing.public_key : publicKey,
      approved_at: existing?.approved_at ?? new Date().toISOString(),
      mutual: mutual || existing?.mutual === true,
      network: existing?.network ?? 0,
    };
    this.trusted.set(nodeId, peer);
    this.pending.delete(nodeId);
    this.outgoing.delete(nodeId);
    this.save();
    return peer;
  }

  untrust(nodeId: number): boolean {
    const had = this.trusted.delete(nodeId);
    this.outgoing.delete(nodeId);
    this.save();
    return had;
  }

  /** Stores a request for the operator; false when the list is full. */
  addPending(request: PendingRequest): boolean {
    if (!this.pending.has(request.node_id) && this.pending.size >= MAX_PENDING) return false;
    this.pending.set(request.node_id, request);
    this.save();
    return true;
  }

  removePending(nodeId: number): PendingRequest | undefined {
    const request = this.pending.get(nodeId);
    if (request !== undefined) {
      this.pending.delete(nodeId);
      this.save();
    }
    return request;
  }

  addOutgoing(nodeId: number, justification: string): void {
    this.outgoing.set(nodeId, { node_id: nodeId, justification, sent_at: new Date().toISOString() });
    this.save();
  }

  removeOutgoing(nodeId: number): void {
    if (this.outgoing.delete(nodeId)) this.save();
  }

  save(): void {
    const document = {
      trusted: [...this.trusted.values()],
      pending: [...this.pending.values()],
      outgoing: [...this.outgoing.values()],
    };
    writeFileAtomic(this.path, `${JSON.stringify(document, null, 2)}\n`, 0o600);
  }
}

function list(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value)
    ? value.filter((item): item is Record<string, unknown> => typeof item === 'object' && item !== null)
    : [];
}
