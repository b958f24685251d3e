import { formatIp, type IpEndpoint, parseIp } from './beacon-ip.js';
import { WireErrorCode, wireError } from './errors.js';

/**
 * The one ip:port of pilot-ts: a UDP address as node:dgram speaks it (an IP literal as text and a
 * port), the shape of a socket's `address()` and of a received datagram's `rinfo`, so those pass
 * as one without a copy. Every layer (nat, transport, tunnel, daemon) names peers, beacons and
 * sockets with it. `IpEndpoint` is something else: the binary form (4 or 16 bytes) that beacon
 * messages carry; `toIpEndpoint`/`fromIpEndpoint` convert.
 */
export interface UdpAddress {
  readonly address: string;
  readonly port: number;
}

const MAPPED_PREFIX = '::ffff:';
// Dotted IPv4 as node:net's isIPv4 accepts it (no leading zeros: `010` could be read as octal).
const IPV4_PART = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4 = new RegExp(`^${IPV4_PART}(?:\\.${IPV4_PART}){3}$`);

/** The bytes of an IP literal, or undefined for anything else (names, zones, brackets, garbage). */
function ipBytes(text: string): Uint8Array | undefined {
  if (!text.includes(':')) {
    // parseIp would throw on a host name; this is the common case, so no exception for it.
    return IPV4.test(text) ? parseIp(text) : undefined;
  }
  try {
    return parseIp(text);
  } catch {
    return undefined;
  }
}

/** 4 or 6 for an IPv4 or IPv6 literal (no zone, no brackets), 0 for anything else. */
export function ipFamily(text: string): 0 | 4 | 6 {
  const bytes = ipBytes(text);
  return bytes === undefined ? 0 : bytes.length === 4 ? 4 : 6;
}

/**
 * The IP literal in its plain form, so that one host never has two spellings: lower case, IPv6 in
 * RFC 5952 form, an IPv4-mapped IPv6 address (what a dual-stack socket reports for IPv4 peers) as
 * dotted IPv4. Anything that is not an IP literal comes back lower-cased.
 */
export function normalizeIp(address: string): string {
  const lower = address.toLowerCase();
  // IPv4 and host names: nothing to fold (the usual case, decided without parsing).
  if (!lower.includes(':')) return lower;
  if (lower.startsWith(MAPPED_PREFIX)) {
    const v4 = lower.slice(MAPPED_PREFIX.length);
    if (IPV4.test(v4)) return v4;
  }
  const bytes = ipBytes(lower);
  if (bytes === undefined) return lower;
  const text = formatIp(bytes);
  return text.startsWith(MAPPED_PREFIX) ? text.slice(MAPPED_PREFIX.length) : text;
}

/** True when both name the same IP and port (mapped IPv4 equals plain IPv4, case and `::` aside). */
export function sameUdpAddress(a: UdpAddress, b: UdpAddress): boolean {
  if (a.port !== b.port) return false;
  // Identical text is the same address whatever it is; only differing spellings need folding.
  return a.address === b.address || normalizeIp(a.address) === normalizeIp(b.address);
}

/** `1.2.3.4:5` or `[::1]:5` (the address normalized). */
export function formatUdpAddress(address: UdpAddress): string {
  const ip = normalizeIp(address.address);
  return ip.includes(':') ? `[${ip}]:${address.port}` : `${ip}:${address.port}`;
}

/** Throws WIRE_BAD_ADDRESS unless `address` is an IP literal and a port in 1..65535. */
export function checkUdpAddress(address: UdpAddress): void {
  if (ipFamily(address.address) === 0) {
    throw wireError(WireErrorCode.BAD_ADDRESS, `not an IP literal: ${JSON.stringify(address.address)}`);
  }
  if (!Number.isInteger(address.port) || address.port < 1 || address.port > 0xffff) {
    throw wireError(WireErrorCode.BAD_ADDRESS, `not a UDP port: ${address.port}`);
  }
}

/** The wire form (4 or 16 bytes, mapped IPv4 folded to 4 bytes). Non-literals are WIRE_BAD_ADDRESS. */
export function toIpEndpoint(address: UdpAddress): IpEndpoint {
  checkUdpAddress(address);
  return { ip: parseIp(normalizeIp(address.address)), port: address.port };
}

/** The text form of a wire endpoint; a 16-byte IPv4-mapped address becomes dotted IPv4. */
export function fromIpEndpoint(endpoint: IpEndpoint): UdpAddress {
  return { address: normalizeIp(formatIp(endpoint.ip)), port: endpoint.port };
}
