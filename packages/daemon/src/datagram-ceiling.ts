import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';

/**
 * The largest tunnel datagram worth probing for on a path (RFC 8899's MAX_PLPMTU), from what the
 * peer's UDP address says about the path. Only between pilot-ts peers that negotiated
 * `large-datagrams`; everyone else keeps the spec's 1200 bytes.
 *
 * - loopback: the kernel moves datagrams of any size in one piece (Linux's `lo` MTU is 64 KiB), so
 *   the largest UDP payload IPv4 allows, and over IPv6 the MTU less the IPv6 and UDP headers (a
 *   larger one would be fragmented). Most of a daemon's cost is per datagram (a `dgram` send, a
 *   seal, a transport packet and its ACK): `pilotctl bench` through two daemons went from 43 to
 *   59 MiB/s and from 35 to 24 CPU ms per MiB against 16 KiB datagrams (packages/cli
 *   bench/transfer.mjs, 2026-12-06), and still from 42 to 49 MiB/s with the kernel's default
 *   212 KiB socket buffers, which hold only a few such datagrams.
 * - a peer in the same IPv4 /24 as one of our interfaces (the reference's LAN rule, §7.3): that
 *   interface's MTU less the IP and UDP headers (8 KiB at most), so a jumbo-frame LAN gets large
 *   datagrams and an Ethernet one is never IP-fragmented (a lost fragment loses the whole datagram,
 *   which multiplies the loss rate by the fragment count).
 * - anything else: the Ethernet MTU less the IP and UDP headers (1472 over IPv4, 1452 over IPv6),
 *   what TCP's MSS uses too; a smaller path MTU fails the probe and the search settles lower.
 */
export const LOOPBACK_DATAGRAM_CEILING = 65_507;
export const LOOPBACK_DATAGRAM_CEILING_V6 = 65_488;
export const LAN_DATAGRAM_CEILING = 8192;
export const INTERNET_DATAGRAM_CEILING_V4 = 1472;
export const INTERNET_DATAGRAM_CEILING_V6 = 1452;

export function datagramCeiling(address: string): number {
  const family = isIP(address);
  if (family === 0) return 0;
  if (address.startsWith('127.') || address.startsWith('::ffff:127.')) return LOOPBACK_DATAGRAM_CEILING;
  if (address === '::1') return LOOPBACK_DATAGRAM_CEILING_V6;
  if (family === 4) {
    const lanMtu = sameLanMtu(address);
    if (lanMtu !== undefined)
      return Math.min(LAN_DATAGRAM_CEILING, Math.max(lanMtu - 28, INTERNET_DATAGRAM_CEILING_V4));
  }
  return family === 4 ? INTERNET_DATAGRAM_CEILING_V4 : INTERNET_DATAGRAM_CEILING_V6;
}

/** The MTU of our interface in the same /24 as `ip`, or undefined when none is (Linux: /sys; else 1500). */
function sameLanMtu(ip: string): number | undefined {
  const prefix = ip.split('.').slice(0, 3).join('.');
  for (const [name, list] of Object.entries(networkInterfaces())) {
    for (const entry of list ?? []) {
      if (
        entry.family === 'IPv4' &&
        !entry.internal &&
        entry.address.split('.').slice(0, 3).join('.') === prefix
      ) {
        return interfaceMtu(name);
      }
    }
  }
  return undefined;
}

function interfaceMtu(name: string): number {
  try {
    const mtu = Number.parseInt(readFileSync(`/sys/class/net/${name}/mtu`, 'utf8'), 10);
    return Number.isInteger(mtu) && mtu >= 576 && mtu <= 65_535 ? mtu : 1500;
  } catch {
    return 1500;
  }
}
