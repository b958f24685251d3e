import { decodeCapabilities, TunnelCapability, type TunnelCapabilityName } from '@pilot/wire';

/**
 * What we advertise to pilot-ts peers in the PILX after our PILA, unless the options say otherwise.
 * A capability goes here only once this build implements it (`large-datagrams` is reserved for the
 * speed work and joins when it lands).
 */
export const DEFAULT_TUNNEL_CAPABILITIES: readonly TunnelCapabilityName[] = [
  TunnelCapability.FORWARD_SECRECY,
];

/**
 * What the tunnel knows of one peer's capabilities (`TunnelManager.capabilities(node)`): `has(name)`
 * is true only when we advertise `name` and the peer's signed PILX does, so a caller gates a feature
 * on it alone. A reference peer (its PILA carries no PILX), and any peer before its first verified
 * PILA, has none (`known` tells the two apart).
 */
export interface PeerCapabilities {
  /** True once a PILA from the peer was verified (with or without a PILX). */
  readonly known: boolean;
  /** What the peer advertised (the names this build knows), in bit order. */
  readonly peer: readonly TunnelCapabilityName[];
  /** The negotiated set: ours ∩ the peer's. */
  readonly names: readonly TunnelCapabilityName[];
  has(name: TunnelCapabilityName | string): boolean;
}

/** The capabilities of a peer whose PILA carried `word` (undefined: no PILX, or none verified yet). */
export function peerCapabilities(
  ours: ReadonlySet<string>,
  word: number | undefined,
  known: boolean,
): PeerCapabilities {
  const peer = word === undefined ? [] : decodeCapabilities(word);
  const names = peer.filter((name) => ours.has(name));
  const set = new Set<string>(names);
  return { known, peer, names, has: (name) => set.has(name) };
}

/** A peer we know nothing of yet. */
export const UNKNOWN_CAPABILITIES: PeerCapabilities = peerCapabilities(new Set(), undefined, false);
