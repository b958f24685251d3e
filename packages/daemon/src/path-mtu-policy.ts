import type { Address } from '@pilot/transport';
import { datagramCeiling } from './datagram-ceiling.js';
import { PeerSetting } from './peer-setting.js';

/** What the policy needs to know of a peer, from the tunnel. */
export interface PathMtuPeers {
  /** The peer negotiated `large-datagrams` (its signed PILX said so, and we advertise it too). */
  negotiated(node: number): boolean;
  /** `ip:port` of the peer's direct path; undefined when relayed or when there is none yet. */
  directEndpoint(node: number): string | undefined;
}

/** The transport side: `probePathMtu` with a ceiling at or below the base size stops probing. */
export interface PathMtuTransport {
  probePathMtu(address: Address, ceiling: number): void;
}

/** Tunnel events after which a peer's path may allow another datagram size. */
const PATH_EVENTS = new Set([
  'tunnel.established',
  'tunnel.rekeyed',
  'tunnel.capabilities',
  'tunnel.moved',
  'tunnel.direct_restored',
  'tunnel.relay_activated',
  'tunnel.path_lost',
]);
/** Tunnel events about every peer at once (the TLS relay taking over, UDP coming back). */
const GLOBAL_EVENTS = new Set(['tunnel.relay_tls', 'tunnel.udp_restored']);

/**
 * Decides, per peer, whether the transport probes for larger datagrams (RFC 8899, see
 * `@pilot/transport`'s `probePathMtu`) and up to which size: only towards pilot-ts peers that
 * negotiated `large-datagrams`, only over a direct path (a relayed frame is wrapped by the beacon,
 * which expects spec-sized datagrams), with the ceiling from the path's address (loopback, LAN,
 * Internet: `datagramCeiling`). Everyone else, reference peers included, keeps exactly the spec's
 * datagram size: the transport sends no probe to them and never raises their segment size.
 */
export class PathMtuPolicy extends PeerSetting<number> {
  constructor(peers: PathMtuPeers, transport: PathMtuTransport, enabled = true) {
    super({
      decide: (node) => ceilingFor(peers, enabled, node),
      apply: (node, ceiling) => transport.probePathMtu({ network: 0, node }, ceiling),
      off: 0,
      events: PATH_EVENTS,
      globalEvents: GLOBAL_EVENTS,
    });
  }

  /** Peers probed now, with their ceilings (for `pilotctl info` and tests). */
  get probing(): ReadonlyMap<number, number> {
    return this.current;
  }
}

/** The ceiling a peer is probed with: 0 (none) unless it negotiated and has a direct path. */
function ceilingFor(peers: PathMtuPeers, enabled: boolean, node: number): number {
  if (!enabled || !peers.negotiated(node)) return 0;
  const endpoint = peers.directEndpoint(node);
  if (endpoint === undefined || endpoint === '') return 0;
  return datagramCeiling(hostOf(endpoint));
}

/** The host of `ip:port` or `[ipv6]:port`. */
function hostOf(endpoint: string): string {
  if (endpoint.startsWith('[')) return endpoint.slice(1, endpoint.indexOf(']'));
  const colon = endpoint.lastIndexOf(':');
  return colon < 0 ? endpoint : endpoint.slice(0, colon);
}

/**
 * Whether a tunnel negotiated `large-datagrams` with a peer: the tunnel's capability API
 * (`capabilities(node).has(name)`, the `fs` work) when this build has it; without it no peer
 * qualifies, so nothing changes on the wire.
 */
export function negotiatedLargeDatagrams(tunnel: object, node: number): boolean {
  const api = (tunnel as { capabilities?: (node: number) => { has(name: string): boolean } }).capabilities;
  return typeof api === 'function' && api.call(tunnel, node).has('large-datagrams');
}
