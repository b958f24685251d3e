import type { TunnelDirectory } from '@pilot/tunnel';
import { isPilotError, type UdpAddress } from '@pilot/wire';
import type { DaemonContext } from './daemon-context.js';
import type { KeyPins } from './key-pins.js';
import { LookupBudget } from './lookup-budget.js';
import { NegativeCache } from './negative-cache.js';
import { parseRegistryEndpoint, registryEndpointPolicy } from './registry-endpoint.js';
import type { RegistrySession } from './registry-session.js';

/** The tunnel's view of the registry, and the budgets on what strangers make it ask (info reports them). */
export interface TunnelDirectoryParts {
  readonly directory: TunnelDirectory;
  /** The budget of lookups that peers' PILAs cause (`--budget-lookup-*`). */
  readonly lookups: LookupBudget;
  /** Nodes the registry did not know, not asked again for a while when a stranger names them. */
  readonly unknownNodes: NegativeCache;
}

/**
 * The tunnel's view of the registry. Lookups a stranger's PILA causes are budgeted and wait in the
 * registry client's background lane; a trusted peer's key is its pinned one, whatever the registry says.
 */
export function createTunnelDirectory(
  ctx: DaemonContext,
  session: RegistrySession,
  keyPins: KeyPins,
): TunnelDirectoryParts {
  const budgets = ctx.budgets;
  const lookups = new LookupBudget({
    perSecond: budgets['lookup-rate'],
    burst: budgets['lookup-burst'],
    maxInFlight: budgets['lookup-in-flight'],
    perSourcePerSecond: budgets['lookup-per-source-rate'],
    perSourceBurst: budgets['lookup-per-source-burst'],
  });
  const unknownNodes = new NegativeCache({ ttlMs: budgets['lookup-negative-ttl-ms'] });
  return { directory: directory(ctx, session, keyPins, lookups, unknownNodes), lookups, unknownNodes };
}

function directory(
  ctx: DaemonContext,
  session: RegistrySession,
  keyPins: KeyPins,
  lookups: LookupBudget,
  unknownNodes: NegativeCache,
): TunnelDirectory {
  // What the registry's lookups said of each peer's tunnel (our registry's tunnel-capabilities):
  // whether a PILA to it may carry our PILX. Bounded like the tunnel's key cache.
  const peerCapabilities = new Map<number, readonly string[]>();
  const endpoints = registryEndpoints(ctx);
  return {
    capabilities: (nodeId) => peerCapabilities.get(nodeId),
    // `cause`: the PILA that made the tunnel ask, and where it came from; none when we dial.
    publicKey: async (nodeId, cause) => {
      const pinned = keyPins.pinned(nodeId) !== undefined;
      const stranger = cause !== undefined && !pinned;
      try {
        // Lookups that PILAs cause are within a budget per source and in all (lookup-budget.ts);
        // strangers' wait in the registry client's background lane, behind heartbeats and every
        // request of our own, and a node the registry did not know is not asked again for a while.
        if (stranger && unknownNodes.has(nodeId)) return undefined;
        const info =
          cause === undefined
            ? await session.call((client) => client.lookup(nodeId))
            : await lookups.run(
                () =>
                  session.call((client) => client.lookup(nodeId, { lane: stranger ? 'background' : 'own' })),
                cause.source,
                pinned,
              );
        peerCapabilities.delete(nodeId);
        if (info.tunnelCapabilities !== undefined) peerCapabilities.set(nodeId, info.tunnelCapabilities);
        if (peerCapabilities.size > 4096) peerCapabilities.delete(peerCapabilities.keys().next().value ?? 0);
        // A trusted peer's PILA is checked against its pinned key, whatever the registry says.
        return new Uint8Array(Buffer.from(keyPins.check(nodeId, info, 'lookup'), 'base64'));
      } catch (error) {
        if (isPilotError(error, 'DIR_NOT_FOUND')) {
          if (stranger) unknownNodes.add(nodeId);
          return undefined;
        }
        throw error;
      }
    },
    // Birthday intents (the registry's `birthday` extension): ours towards a peer (its IPs come
    // back), or who intends to reach us (asked because of unauthenticated punch commands: within
    // the lookup budget). A registry without the extension: no birthday probing.
    birthday: async (nodeId) => {
      try {
        // Who intends to reach us is asked because of a stranger's command: background lane.
        const lane = nodeId === undefined ? 'background' : 'own';
        const ask = () =>
          session.call((client) => client.birthday(session.signer, ctx.nodeId, nodeId, { lane }));
        const reply = nodeId === undefined ? await lookups.run(ask) : await ask();
        return nodeId === undefined ? reply.peers.flatMap((peer) => peer.ips) : reply.ips;
      } catch (error) {
        if (isPilotError(error, 'DIR_UNSUPPORTED')) return [];
        throw error;
      }
    },
    resolve: async (nodeId) => {
      const where = await ctx.resolves.resolve(nodeId);
      const endpoint = endpoints(nodeId, where.realAddr);
      const lanAddrs = where.lanAddrs
        .map((text) => endpoints(nodeId, text))
        .filter((a): a is UdpAddress => a !== undefined);
      return { ...(endpoint === undefined ? {} : { endpoint }), lanAddrs };
    },
  };
}

/**
 * The registry's `ip:port` texts → addresses, or undefined when absent or refused (registry-endpoint.ts:
 * IP literals only, our own host only from a registry on loopback). A refused one leaves the peer
 * without that endpoint (relay or no path) and is logged once per text.
 */
function registryEndpoints(ctx: DaemonContext): (nodeId: number, text: unknown) => UdpAddress | undefined {
  const policy = registryEndpointPolicy(ctx.options.registry);
  const logged = new Set<string>();
  return (nodeId, text) => {
    if (typeof text !== 'string' || text === '') return undefined;
    try {
      return parseRegistryEndpoint(text, policy);
    } catch (error) {
      if (!logged.has(text) && logged.size < 256) {
        logged.add(text);
        ctx.log.warn('refused a peer endpoint from the registry', {
          node_id: nodeId,
          error: error instanceof Error ? error.message : String(error),
        });
      }
      return undefined;
    }
  };
}
