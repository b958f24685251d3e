import { WireErrorCode, wireError } from './errors.js';

/** A UDP endpoint as the beacon reports it: a 4-byte IPv4 or 16-byte IPv6 address and a port. */
export interface IpEndpoint {
  readonly ip: Uint8Array;
  readonly port: number;
}

function badIp(text: string, why: string): never {
  throw wireError(WireErrorCode.BAD_ADDRESS, `not an IP address (${why}): ${JSON.stringify(text)}`);
}

function parseIpv4(text: string, into: Uint8Array, offset: number, whole: string): void {
  const parts = text.split('.');
  if (parts.length !== 4) badIp(whole, 'an IPv4 address has four dotted parts');
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    // Leading zeros are refused: some parsers read them as octal, so `010` is ambiguous.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) badIp(whole, `bad IPv4 part ${JSON.stringify(part)}`);
    const value = Number(part);
    if (value > 255) badIp(whole, `IPv4 part ${value} is over 255`);
    into[offset + i] = value;
  }
}

function parseGroups(text: string, whole: string, allowTrailingIpv4: boolean): number[] {
  if (text === '') return [];
  const groups: number[] = [];
  const parts = text.split(':');
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (allowTrailingIpv4 && i === parts.length - 1 && part.includes('.')) {
      const v4 = new Uint8Array(4);
      parseIpv4(part, v4, 0, whole);
      groups.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      continue;
    }
    if (!/^[0-9a-fA-F]{1,4}$/.test(part)) badIp(whole, `bad IPv6 group ${JSON.stringify(part)}`);
    groups.push(Number.parseInt(part, 16));
  }
  return groups;
}

function parseIpv6(text: string): Uint8Array {
  const halves = text.split('::');
  if (halves.length > 2) badIp(text, '"::" may appear once');
  const compressed = halves.length === 2;
  const head = parseGroups(halves[0]!, text, !compressed);
  const tail = compressed ? parseGroups(halves[1]!, text, true) : [];
  const count = head.length + tail.length;
  if (compressed ? count > 7 : count !== 8) badIp(text, 'an IPv6 address has eight groups');
  const groups = [...head, ...new Array<number>(8 - count).fill(0), ...tail];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = groups[i]! >>> 8;
    out[2 * i + 1] = groups[i]! & 0xff;
  }
  return out;
}

/**
 * Bytes of an IP address written as text: dotted IPv4 (`203.0.113.7`, no leading zeros) gives 4
 * bytes, IPv6 (`2001:db8::1`, `::ffff:192.0.2.1`, either case) gives 16. Zones (`%eth0`) and
 * brackets are not part of an address and are refused, like anything else malformed, with
 * WIRE_BAD_ADDRESS.
 */
export function parseIp(text: string): Uint8Array {
  if (text.includes(':')) return parseIpv6(text);
  const out = new Uint8Array(4);
  parseIpv4(text, out, 0, text);
  return out;
}

function formatIpv4(bytes: Uint8Array, offset: number): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/**
 * Text of a 4- or 16-byte IP address. IPv6 follows RFC 5952 (lower case, the longest run of two or
 * more zero groups shortened to `::`, IPv4-mapped addresses as `::ffff:a.b.c.d`), so that
 * `parseIp(formatIp(ip))` gives back the same bytes. Any other length is WIRE_BAD_VALUE.
 */
export function formatIp(ip: Uint8Array): string {
  if (ip.length === 4) return formatIpv4(ip, 0);
  if (ip.length !== 16)
    throw wireError(WireErrorCode.BAD_VALUE, `an IP address has 4 or 16 bytes, got ${ip.length}`);
  let mapped = ip[10] === 0xff && ip[11] === 0xff;
  for (let i = 0; i < 10 && mapped; i++) mapped = ip[i] === 0;
  if (mapped) return `::ffff:${formatIpv4(ip, 12)}`;
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((ip[2 * i]! << 8) | ip[2 * i + 1]!);
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number): string =>
    groups
      .slice(from, to)
      .map((group) => group.toString(16))
      .join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) {
    throw wireError(WireErrorCode.OUT_OF_RANGE, `a port is an integer in 0..65535, got ${port}`);
  }
}

/** `203.0.113.7:9001` or `[2001:db8::1]:9001`. */
export function formatEndpoint(endpoint: IpEndpoint): string {
  checkPort(endpoint.port);
  const ip = formatIp(endpoint.ip);
  return endpoint.ip.length === 16 ? `[${ip}]:${endpoint.port}` : `${ip}:${endpoint.port}`;
}

/** The reverse of formatEndpoint: an IPv6 host must be bracketed; the port is plain decimal. */
export function parseEndpoint(text: string): IpEndpoint {
  const match = /^(?:\[([^\]]*)\]|([^:[\]]*)):(0|[1-9][0-9]{0,4})$/.exec(text);
  if (match === null) {
    throw wireError(
      WireErrorCode.BAD_ADDRESS,
      `not an endpoint (ip:port, [ipv6]:port): ${JSON.stringify(text)}`,
    );
  }
  const port = Number(match[3]);
  if (port > 0xffff) throw wireError(WireErrorCode.BAD_ADDRESS, `port ${port} is over 65535`);
  const v6 = match[1];
  if (v6 !== undefined) {
    if (!v6.includes(':')) badIp(text, 'brackets hold an IPv6 address');
    return { ip: parseIpv6(v6), port };
  }
  const ip = parseIp(match[2]!);
  return { ip, port };
}
