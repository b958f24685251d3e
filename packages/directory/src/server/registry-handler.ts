import { isPilotError } from '@pilot/wire';
import { DirErrorCode, dirError } from '../errors.js';
import { RegistryExtension } from '../extensions.js';
import type { DirectoryStore, NodeRecord } from '../store/directory-store.js';
import { Authenticator } from './authenticator.js';
import { BIRTHDAY_OPERATIONS } from './birthday-ops.js';
import { DISCOVERY_OPERATIONS } from './discovery-ops.js';
import type { Request } from './fields.js';
import { NETWORK_OPERATIONS } from './network-ops.js';
import { NODE_OPERATIONS } from './node-ops.js';
import type { OpContext, Operation, Reply, RequestOrigin } from './op-context.js';
import { RegistryLimits } from './registry-limits.js';
import {
  type RegistryOptions,
  type ResolvedRegistryOptions,
  resolveRegistryOptions,
} from './registry-options.js';
import { TRUST_OPERATIONS } from './trust-ops.js';

const OPERATIONS: ReadonlyMap<string, Operation> = new Map(
  Object.entries({
    ...NODE_OPERATIONS,
    ...NETWORK_OPERATIONS,
    ...TRUST_OPERATIONS,
    ...DISCOVERY_OPERATIONS,
    ...BIRTHDAY_OPERATIONS,
  }),
);

// Operations that never write: they skip the per-request savepoint (a measurable cost on lookups).
const READ_ONLY: ReadonlySet<string> = new Set(['lookup', 'check_trust', 'list_networks', 'beacon_list']);

/** Every request type the registry answers. */
export const REQUEST_TYPES: readonly string[] = [...OPERATIONS.keys()];

/** The error reply for a code and message, as the wire carries it. */
export function errorReply(code: string, message: string): Reply {
  return { type: 'error', error: message, code };
}

function isStoreFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_');
}

export type ReapResult = {
  readonly expiredNodes: number;
  readonly nonces: number;
  readonly beacons: number;
  readonly invites: number;
};

/**
 * The registry's logic as a pure request → reply function over a store: no sockets, no timers;
 * the clock is injected. Each request runs in one store transaction (a savepoint when the caller
 * groups several requests in an outer transaction, as the TCP server does), so a refused request
 * leaves nothing behind.
 */
export class RegistryHandler {
  readonly store: DirectoryStore;
  readonly options: ResolvedRegistryOptions;
  /** What `register_ok` and `beacon_list_ok` advertise: every extension this configuration offers. */
  readonly extensions: readonly string[];
  /** Per node, the tunnel capabilities of its last signed `register` (see OpContext). */
  readonly tunnelCapabilities: Map<number, readonly string[]> = new Map();
  /** The budgets' refusal counters live here (limits.counters). */
  readonly limits: RegistryLimits;
  readonly #auth: Authenticator;
  readonly #onInternalError: (error: unknown) => void;

  constructor(
    store: DirectoryStore,
    options: RegistryOptions = {},
    onInternalError?: (error: unknown) => void,
  ) {
    this.store = store;
    this.options = resolveRegistryOptions(options);
    this.limits = new RegistryLimits(this.options);
    this.#auth = new Authenticator(store, {
      acceptLegacySignatures: this.options.acceptLegacySignatures,
      freshnessWindowMs: this.options.freshnessWindowMs,
      adminToken: this.options.adminToken,
    });
    this.#onInternalError = onInternalError ?? (() => {});
    this.extensions = [
      RegistryExtension.FRESH_SIGNATURES,
      RegistryExtension.SIGNED_REGISTER,
      RegistryExtension.FIND,
      RegistryExtension.SIGNED_LIST_NODES,
      RegistryExtension.SIGNED_VALUES,
      RegistryExtension.TUNNEL_CAPABILITIES,
      RegistryExtension.BIRTHDAY,
      ...(this.options.reflectorPort === undefined ? [] : [RegistryExtension.REFLECTOR]),
      ...(this.options.wssPort === undefined ? [] : [RegistryExtension.WSS]),
      ...(this.options.networkCreation === 'any-node' ? [RegistryExtension.SIGNED_CREATE_NETWORK] : []),
    ];
  }

  /**
   * Whether the request only reads: the TCP server answers such a request at once, outside any
   * batch, since it has nothing to commit and no fsync to wait for.
   */
  readsOnly(request: Request): boolean {
    const type = request.type;
    return typeof type === 'string' && READ_ONLY.has(type);
  }

  /** Answers one decoded request. Never throws: every failure becomes an error reply. */
  handle(request: Request, origin: RequestOrigin = {}): Reply {
    const type = request.type;
    if (typeof type !== 'string')
      return errorReply(DirErrorCode.BAD_REQUEST, 'invalid request: type required');
    const operation = OPERATIONS.get(type);
    if (operation === undefined) {
      return errorReply(
        DirErrorCode.UNKNOWN_TYPE,
        `invalid request: unknown message type "${type.slice(0, 64)}"`,
      );
    }
    try {
      const ctx = this.#context(this.options.now());
      if (READ_ONLY.has(type)) return operation(ctx, request, origin);
      return this.#auth.trusting(origin.verifiedSignature, () =>
        this.store.transaction(() => operation(ctx, request, origin)),
      );
    } catch (error) {
      if (isPilotError(error)) return errorReply(error.code, error.message);
      if (isStoreFailure(error)) {
        this.#onInternalError(error);
        return errorReply(DirErrorCode.STORE_FAILED, 'request failed: storage error');
      }
      this.#onInternalError(error);
      return errorReply(DirErrorCode.INTERNAL, 'request failed');
    }
  }

  /** Expires silent nodes and drops stale nonces, beacons and invites. The server calls it every 10 s. */
  reap(): ReapResult {
    const now = this.options.now();
    this.limits.prune(now);
    return this.store.transaction(() => ({
      expiredNodes: this.store.expireNodes(now - this.options.nodeTtlMs),
      nonces: this.store.pruneNonces(now),
      beacons: this.store.pruneBeacons(now - this.options.beaconTtlMs),
      invites: this.store.pruneInvites(now),
    }));
  }

  #context(now: number): OpContext {
    const store = this.store;
    const liveSince = now - this.options.nodeTtlMs;
    const isLive = (node: NodeRecord): boolean => node.live && node.lastSeen >= liveSince;
    return {
      store,
      auth: this.#auth,
      options: this.options,
      limits: this.limits,
      now,
      extensions: this.extensions,
      tunnelCapabilities: this.tunnelCapabilities,
      isLive,
      liveNode(nodeId: number, what = 'node'): NodeRecord {
        const node = store.getNode(nodeId);
        if (node === undefined || !isLive(node))
          throw dirError(DirErrorCode.NOT_FOUND, `${what} ${nodeId} not found`);
        return node;
      },
      canSee(viewerId: number | null, target: NodeRecord): boolean {
        if (target.public) return true;
        if (viewerId === null) return false;
        if (viewerId === target.nodeId) return true;
        return store.hasTrust(viewerId, target.nodeId) || store.shareNetwork(viewerId, target.nodeId);
      },
    };
  }
}
