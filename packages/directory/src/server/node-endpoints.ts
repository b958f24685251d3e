import { ipFamily, normalizeIp, type PilotError } from '@pilot/wire';
import { DirErrorCode, dirError } from '../errors.js';
import type { NodeRecord } from '../store/directory-store.js';
import { formatEndpoint, parseEndpoint } from '../validate.js';

// Where a node is reached is the node's word, and every resolver sends its tunnel packets there: a
// node relayed verbatim could aim them at a name of its choosing, at the resolver's own loopback, or
// at a third party. The reference registry (spec §7.3) keeps only the port of `listen_addr` and takes
// the host from the registration's TCP connection; so does this one. A host name, a loopback or
// unspecified address or someone else's IP in `listen_addr` is thereby replaced, not refused, as the
// reference does: a reference daemon started with `-endpoint name:port` registers here as there.

/** True for 127.0.0.0/8 and ::1 (mapped IPv4 folded first). */
export function isLoopbackIp(ip: string): boolean {
  const plain = normalizeIp(ip);
  return ipFamily(plain) !== 0 && (plain.startsWith('127.') || plain === '::1');
}

function isUnspecifiedIp(ip: string): boolean {
  const plain = normalizeIp(ip);
  return plain === '0.0.0.0' || plain === '::';
}

function badEndpoint(field: string, text: string, why: string): PilotError {
  return dirError(
    DirErrorCode.BAD_ENDPOINT,
    `invalid request: ${field} ${JSON.stringify(text.slice(0, 80))} ${why}`,
  );
}

/**
 * `listen_addr` as announced: `host:port` (the host may be empty, a name or any IP: only its port is
 * ever handed out, and the dashboard compares the host with the observed one). DIR_BAD_ENDPOINT otherwise.
 */
export function checkListenAddr(text: string): string {
  if (parseEndpoint(text) === undefined) throw badEndpoint('listen_addr', text, 'must be host:port');
  return text;
}

/**
 * `lan_addrs`: addresses on the node's own networks, which the registry cannot check, handed to
 * peers in the same /24. Each must be an IP literal with a port; never unspecified, and loopback
 * only from a node that registered from loopback itself (the reference daemon announces its
 * non-loopback private IPv4 addresses, ours its non-internal IPv4 ones). DIR_BAD_ENDPOINT otherwise.
 */
export function checkLanAddr(text: string, peer: string | undefined): string {
  const endpoint = parseEndpoint(text);
  if (endpoint === undefined) throw badEndpoint('lan_addrs', text, 'must be ip:port');
  if (ipFamily(endpoint.host) === 0) throw badEndpoint('lan_addrs', text, 'is not an IP literal');
  if (isUnspecifiedIp(endpoint.host)) throw badEndpoint('lan_addrs', text, 'is unspecified');
  if (isLoopbackIp(endpoint.host) && (peer === undefined || !isLoopbackIp(peer)))
    throw badEndpoint('lan_addrs', text, 'is loopback, from a node not on loopback');
  return text;
}

/**
 * The endpoint handed out for a node (`real_addr`, register's `observed_addr`): the IP its
 * registration came from with the port it announced, or that connection's own port when it
 * announced none. Null when the registry did not see where it came from.
 */
export function endpointOf(listenAddr: string | null, observedAddr: string | null): string | null {
  const observed = observedAddr === null ? undefined : parseEndpoint(observedAddr);
  if (observed === undefined) return null;
  const listen = listenAddr === null ? undefined : parseEndpoint(listenAddr);
  return formatEndpoint(observed.host, (listen ?? observed).port);
}

/** Where peers reach the node (see `endpointOf`). */
export function realAddr(node: NodeRecord): string | null {
  return endpointOf(node.listenAddr, node.observedAddr);
}
