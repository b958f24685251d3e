import { type DirectoryClient, type DirectorySigner, fromBase64 } from '@pilot/directory/client';
import type { UdpAddress } from '@pilot/wire';
import type { TunnelDirectory } from '../src/index.js';

/** `ip:port` or `[ip6]:port` as the registry writes `real_addr` and `lan_addrs`; undefined when malformed. */
export function parseUdpAddress(text: string): UdpAddress | undefined {
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  if (match === null) return undefined;
  const port = Number(match[2]);
  if (!Number.isInteger(port) || port < 1 || port > 0xffff) return undefined;
  return { address: match[1] ?? '', port };
}

/**
 * A `TunnelDirectory` over a registry client (tests: the daemon builds its own over its registry
 * session): keys from `lookup`, endpoints from a signed
 * `resolve` as `requester()` (our node ID, which may change when we re-register). Lookup failures
 * read as "no key" (PILA is then refused), resolve failures propagate (ensureTunnel falls back to
 * the last endpoint it knew).
 */
export function registryTunnelDirectory(
  client: DirectoryClient,
  signer: DirectorySigner,
  requester: () => number,
): TunnelDirectory {
  const capabilities = new Map<number, readonly string[]>();
  return {
    async publicKey(nodeId) {
      try {
        const info = await client.lookup(nodeId);
        if (info.tunnelCapabilities === undefined) capabilities.delete(nodeId);
        else capabilities.set(nodeId, info.tunnelCapabilities);
        return fromBase64(info.publicKey, 32, 'public_key');
      } catch {
        return undefined;
      }
    },
    capabilities: (nodeId) => capabilities.get(nodeId),
    async resolve(nodeId) {
      const found = await client.resolve(signer, requester(), nodeId);
      const endpoint = found.realAddr === null ? undefined : parseUdpAddress(found.realAddr);
      const lanAddrs = found.lanAddrs.map(parseUdpAddress).filter((a): a is UdpAddress => a !== undefined);
      return { ...(endpoint === undefined ? {} : { endpoint }), lanAddrs };
    },
    async birthday(nodeId) {
      const reply = await client.birthday(signer, requester(), nodeId);
      return nodeId === undefined ? reply.peers.flatMap((peer) => peer.ips) : reply.ips;
    },
  };
}
