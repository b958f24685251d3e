import { isIP } from 'node:net';
import { formatIp, type IpEndpoint, parseIp } from '@pilot/wire';
import { NatErrorCode, natError } from './errors.js';

/** A UDP address as node:dgram speaks it: an IP literal and a port. */
export interface UdpAddress {
  readonly address: string;
  readonly port: number;
}

const MAPPED_PREFIX = '::ffff:';

/**
 * The IP literal in its plain form: an IPv4-mapped IPv6 address (what a dual-stack socket reports
 * for IPv4 peers) becomes dotted IPv4, so that one host never has two spellings.
 */
export function normalizeIp(address: string): string {
  const lower = address.toLowerCase();
  if (lower.startsWith(MAPPED_PREFIX) && isIP(lower.slice(MAPPED_PREFIX.length)) === 4) {
    return lower.slice(MAPPED_PREFIX.length);
  }
  return isIP(lower) === 6 ? formatIp(parseIp(lower)) : lower;
}

/** True when both name the same IP and port (mapped IPv4 equals plain IPv4). */
export function sameUdpAddress(a: UdpAddress, b: UdpAddress): boolean {
  return a.port === b.port && normalizeIp(a.address) === normalizeIp(b.address);
}

/** `1.2.3.4:5` or `[::1]:5`. */
export function formatUdpAddress(address: UdpAddress): string {
  const ip = normalizeIp(address.address);
  return ip.includes(':') ? `[${ip}]:${address.port}` : `${ip}:${address.port}`;
}

/** The wire form (4 or 16 bytes, mapped IPv4 folded to 4 bytes). Non-literals are NAT_BAD_ADDRESS. */
export function toIpEndpoint(address: UdpAddress): IpEndpoint {
  checkUdpAddress(address);
  return { ip: parseIp(normalizeIp(address.address)), port: address.port };
}

/** The dgram form of a wire endpoint; a 16-byte IPv4-mapped address becomes dotted IPv4. */
export function fromIpEndpoint(endpoint: IpEndpoint): UdpAddress {
  return { address: normalizeIp(formatIp(endpoint.ip)), port: endpoint.port };
}

/** Throws NAT_BAD_ADDRESS unless `address` is an IP literal and a port in 1..65535. */
export function checkUdpAddress(address: UdpAddress): void {
  if (isIP(address.address) === 0) {
    throw natError(NatErrorCode.BAD_ADDRESS, `not an IP literal: ${JSON.stringify(address.address)}`);
  }
  if (!Number.isInteger(address.port) || address.port < 1 || address.port > 0xffff) {
    throw natError(NatErrorCode.BAD_ADDRESS, `not a UDP port: ${address.port}`);
  }
}

/** The address to hand to `socket.send` for `target` on a socket of `family` ('udp4' or 'udp6'). */
export function sendAddress(target: UdpAddress, family: 'udp4' | 'udp6'): string {
  const ip = normalizeIp(target.address);
  if (family === 'udp6' && isIP(ip) === 4) return `${MAPPED_PREFIX}${ip}`;
  return ip;
}
