import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';

/**
 * The largest tunnel datagram worth probing for on a path (RFC 8899's MAX_PLPMTU), from what the
 * peer's UDP address says about the path. Only between pilot-ts peers that negotiated
 * `large-datagrams`; everyone else keeps the spec's 1200 bytes.
 *
 * - loopback: the kernel moves datagrams of any size in one piece; 16 KiB datagrams moved the
 *   transport core ~10× faster than 1200-byte ones (packages/cli bench/datagram-size.mjs), larger
 *   ones gained little more and cost the receiver's socket buffer.
 * - a peer in the same IPv4 /24 as one of our interfaces (the reference's LAN rule, §7.3): that
 *   interface's MTU less the IP and UDP headers (8 KiB at most), so a jumbo-frame LAN gets large
 *   datagrams and an Ethernet one is never IP-fragmented (a lost fragment loses the whole datagram,
 *   which multiplies the loss rate by the fragment count).
 * - anything else: the Ethernet MTU less the IP and UDP headers (1472 over IPv4, 1452 over IPv6),
 *   what TCP's MSS uses too; a smaller path MTU fails the probe and the search settles lower.
 */
export const LOOPBACK_DATAGRAM_CEILING = 16_384;
export const LAN_DATAGRAM_CEILING = 8192;
export const INTERNET_DATAGRAM_CEILING_V4 = 1472;
export const INTERNET_DATAGRAM_CEILING_V6 = 1452;

export function datagramCeiling(address: string): number {
  const family = isIP(address);
  if (family === 0) return 0;
  if (address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.')) {
    return LOOPBACK_DATAGRAM_CEILING;
  }
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
