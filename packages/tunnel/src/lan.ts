import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { UdpAddress } from '@pilot/wire';

/**
 * The LAN shortcut of reference §7.3: a peer's LAN address is worth trying when it is an IPv4
 * address in the same /24 as one of ours and its public endpoint is not loopback (two daemons on
 * one host reach each other at the registry's address anyway). We try such addresses alongside
 * the public endpoint; whichever answers with an authenticated frame first becomes the path.
 */
export function lanCandidates(
  lanAddrs: readonly UdpAddress[],
  endpoint: UdpAddress | undefined,
): UdpAddress[] {
  if (lanAddrs.length === 0 || (endpoint !== undefined && isLoopback(endpoint.address))) return [];
  const ours = ownPrefixes();
  return lanAddrs.filter(
    (lan) => isIP(lan.address) === 4 && !isLoopback(lan.address) && ours.has(prefix24(lan.address)),
  );
}

function ownPrefixes(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const entry of list ?? []) {
      if (entry.family === 'IPv4' && !entry.internal) out.add(prefix24(entry.address));
    }
  }
  return out;
}

function prefix24(ip: string): string {
  return ip.split('.').slice(0, 3).join('.');
}

function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1';
}
