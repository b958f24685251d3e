import { DirErrorCode, dirError } from './errors.js';

const HOSTNAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
// The reference's tag rule plus dots, so that capability names can be namespaced
// (`weather.metar`); every tag the reference accepts is accepted here.
const TAG = /^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/;
const NETWORK_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Names no node may take: they would read as infrastructure in a listing or a URL. */
export const RESERVED_HOSTNAMES: ReadonlySet<string> = new Set([
  'localhost',
  'backbone',
  'broadcast',
  'registry',
  'beacon',
  'nameserver',
  'rendezvous',
  'pilot',
]);

/** Largest number of tags a node may carry (the reference's limit). */
export const MAX_TAGS = 10;

/** Checks a non-empty hostname: the rule, then the reserved names. */
export function checkHostname(hostname: string): void {
  if (!HOSTNAME.test(hostname)) {
    throw dirError(
      DirErrorCode.HOSTNAME_INVALID,
      'invalid hostname: lowercase letters, digits and inner hyphens, 1 to 63 characters',
    );
  }
  if (RESERVED_HOSTNAMES.has(hostname)) {
    throw dirError(DirErrorCode.HOSTNAME_RESERVED, `invalid hostname: "${hostname}" is reserved`);
  }
}

/** Validates, lowercases nothing (a capital letter is an error, not a variant) and deduplicates. */
export function normaliseTags(tags: readonly string[], maxTags: number = MAX_TAGS): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const tag of tags) {
    if (!TAG.test(tag) || tag.includes('..')) {
      throw dirError(
        DirErrorCode.TAG_INVALID,
        `invalid tag "${tag.slice(0, 80)}": lowercase letters, digits, inner hyphens and dots, 1 to 63 characters`,
      );
    }
    if (!seen.has(tag)) {
      seen.add(tag);
      out.push(tag);
    }
  }
  if (out.length > maxTags) {
    throw dirError(
      DirErrorCode.TOO_MANY_TAGS,
      `invalid tags: at most ${maxTags} tags per node, got ${out.length}`,
    );
  }
  return out;
}

/**
 * A search term: a tag, or a namespace written `prefix.*` that matches every tag under it.
 * Returns the exact tag or the prefix (with its trailing dot) to match.
 */
export function parseTagQuery(term: string): { readonly exact: string } | { readonly prefix: string } {
  if (term.endsWith('.*')) {
    const stem = term.slice(0, -2);
    if (TAG.test(stem) && !stem.includes('..')) return { prefix: `${stem}.` };
  } else if (TAG.test(term) && !term.includes('..')) {
    return { exact: term };
  }
  throw dirError(DirErrorCode.TAG_INVALID, `invalid tag query "${term.slice(0, 80)}"`);
}

export function checkNetworkName(name: string): void {
  if (!NETWORK_NAME.test(name)) {
    throw dirError(
      DirErrorCode.BAD_REQUEST,
      'invalid network name: lowercase letters, digits and inner hyphens, 1 to 63 characters',
    );
  }
}

/** A `host:port` endpoint as nodes announce them (IPv6 hosts in brackets). */
export function parseEndpoint(text: string): { readonly host: string; readonly port: number } | undefined {
  const colon = text.lastIndexOf(':');
  if (colon < 0 || text.length > 300) return undefined;
  let host = text.slice(0, colon);
  const portText = text.slice(colon + 1);
  if (!/^\d{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port > 65535) return undefined;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (!/^[A-Za-z0-9.:%_-]*$/.test(host)) return undefined;
  return { host, port };
}

/** Joins a host and port, bracketing IPv6 hosts. */
export function formatEndpoint(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
