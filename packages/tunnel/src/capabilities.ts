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
  /**
   * True when `peer` is what the peer's own signed PILX said (under its current static key), not
   * its registry entry's listing (which may be stale, or precede its first PILA): what a feature
   * that a peer must actually implement for every packet (aead-checksum-free) is gated on.
   */
  readonly signed: boolean;
  has(name: TunnelCapabilityName | string): boolean;
}

/**
 * The capabilities of a peer whose PILA carried `word` (undefined: no PILX, or none verified yet);
 * `signed`: the word is from its own verified PILX, not from the registry.
 */
export function peerCapabilities(
  ours: ReadonlySet<string>,
  word: number | undefined,
  known: boolean,
  signed = false,
): PeerCapabilities {
  const peer = word === undefined ? [] : decodeCapabilities(word);
  const names = peer.filter((name) => ours.has(name));
  const set = new Set<string>(names);
  return { known, peer, names, signed: signed && word !== undefined, has: (name) => set.has(name) };
}

/** A peer we know nothing of yet. */
export const UNKNOWN_CAPABILITIES: PeerCapabilities = peerCapabilities(new Set(), undefined, false);
