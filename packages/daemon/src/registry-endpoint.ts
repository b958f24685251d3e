import { ipFamily, normalizeIp, type UdpAddress } from '@pilot/wire';
import { DaemonErrorCode, daemonError } from './errors.js';
import { splitHostPort } from './options.js';

/**
 * The peer endpoints the registry's answers name (`real_addr`, `lan_addrs`) are hostile input: a
 * hostile or compromised registry, or a peer announcing what it likes through it, chooses them. The
 * reference resolves them as host names (`ResolveUDPAddr`), but its registry only ever stores the IP
 * it saw plus a port. Here only an IP literal with a port in 1..65535 is taken, so a record cannot
 * make the daemon look up names of its choosing (a DNS side channel, slow lookups held in the dial
 * path), and our own host (loopback, unspecified) only when the registry itself is on loopback (the
 * local quick start and the tests), so a remote one cannot aim the tunnel's packets at our loopback.
 */
export interface RegistryEndpointPolicy {
  /** Every `--registry` is on this host: its records name loopback endpoints (everything local). */
  readonly allowLoopback: boolean;
}

/** True for an IP literal of this host: 127/8, ::1, 0.0.0.0, :: (mapped IPv4 folded first). */
export function isOwnHostIp(ip: string): boolean {
  const plain = normalizeIp(ip);
  return plain.startsWith('127.') || plain === '::1' || plain === '0.0.0.0' || plain === '::';
}

/** True when `host` (of a `--registry host:port`) is this host: a loopback literal or `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const lower = host.toLowerCase();
  if (lower === 'localhost' || lower.endsWith('.localhost')) return true;
  return ipFamily(lower) !== 0 && isOwnHostIp(lower);
}

/** The policy for a daemon whose `--registry` is `text` (`a:1,b:2`, any instance counts). */
export function registryEndpointPolicy(registry: string): RegistryEndpointPolicy {
  const hosts = registry
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => {
      try {
        return splitHostPort(entry, '--registry').host;
      } catch {
        return '';
      }
    });
  return { allowLoopback: hosts.length > 0 && hosts.every(isLoopbackHost) };
}

/** An endpoint from the registry → a `UdpAddress`; throws DAEMON_REGISTRY_BAD_ENDPOINT otherwise. */
export function parseRegistryEndpoint(text: string, policy: RegistryEndpointPolicy): UdpAddress {
  const bad = (why: string) =>
    daemonError(
      DaemonErrorCode.REGISTRY_BAD_ENDPOINT,
      `registry endpoint ${JSON.stringify(text.slice(0, 80))}: ${why}`,
    );
  // `[v6]:port` or `v4:port`; no default host (`:port` would have meant 127.0.0.1).
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (match === null) throw bad('not ip:port');
  const host = match[1] ?? match[2] ?? '';
  const port = Number(match[3]);
  if (ipFamily(host) === 0) throw bad('not an IP literal');
  if (port < 1 || port > 0xffff) throw bad('not a UDP port');
  if (!policy.allowLoopback && isOwnHostIp(host))
    throw bad('loopback or unspecified, and the registry is not on loopback');
  return { address: normalizeIp(host), port };
}
