import { formatAddress } from '@pilot/wire';
import type { DirectoryStore, NodeRecord } from '../store/directory-store.js';
import type { Authenticator } from './authenticator.js';
import type { Request } from './fields.js';
import type { RegistryLimits } from './registry-limits.js';
import type { ResolvedRegistryOptions } from './registry-options.js';
import type { SignatureClaim } from './signature-claim.js';

/** A reply object, `{type: "<op>_ok", …}` or `{type: "error", error, code}`. */
export type Reply = Record<string, unknown>;

/** Where a request came from: the TCP peer, when there is one. */
export type RequestOrigin = {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  /**
   * A signature of this request the caller has already checked (the TCP server's verification
   * workers do so for registrations). Only the caller sets it, never the request.
   */
  readonly verifiedSignature?: SignatureClaim | undefined;
};

/** What every operation sees: the store, the signature checks, the options and one clock reading. */
export type OpContext = {
  readonly store: DirectoryStore;
  readonly auth: Authenticator;
  readonly options: ResolvedRegistryOptions;
  /** Budgets on what one node or source may make the registry keep. */
  readonly limits: RegistryLimits;
  /** The clock, read once per request. */
  readonly now: number;
  /** The protocol extensions this registry advertises (in register_ok and beacon_list_ok). */
  readonly extensions: readonly string[];
  /**
   * What each node's tunnel supports beyond the spec, as its last signed `register` said: soft state
   * kept in memory like a beacon's endpoints (every daemon registers again when it reconnects).
   */
  readonly tunnelCapabilities: Map<number, readonly string[]>;
  /** The node if it exists and has been heard from within the TTL; else DIR_NOT_FOUND. */
  liveNode(nodeId: number, what?: string): NodeRecord;
  isLive(node: NodeRecord): boolean;
  /** The privacy rule: public, yourself, a trust pair, or a shared non-backbone network. */
  canSee(viewerId: number | null, target: NodeRecord): boolean;
};

export type Operation = (ctx: OpContext, request: Request, origin: RequestOrigin) => Reply;

/** The node's backbone address text. */
export function backboneAddress(nodeId: number): string {
  return formatAddress({ network: 0, node: nodeId });
}

/**
 * Ours (`reflector` extension): the port of the second reflector beside the beacon, for the replies
 * that carry extensions (the reference's readers ignore the field).
 */
export function reflectorField(ctx: OpContext): { reflector_port?: number; wss_port?: number } {
  const port = ctx.options.reflectorPort?.();
  const wss = ctx.options.wssPort?.();
  return {
    ...(isPort(port) ? { reflector_port: port } : {}),
    // Ours (`wss` extension): the TLS relay's port on the registry's host.
    ...(isPort(wss) ? { wss_port: wss } : {}),
  };
}

function isPort(port: number | undefined): port is number {
  return port !== undefined && Number.isInteger(port) && port > 0 && port <= 0xffff;
}
