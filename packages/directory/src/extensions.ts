/**
 * The registry-protocol extensions pilot-ts added to the reference's. Our registry lists the ones it
 * offers in an `extensions` array beside the reference's own fields of the `register_ok` and
 * `beacon_list_ok` replies (replies the reference also sends, whose readers ignore fields they do not
 * know). A client uses an extension only once the registry has advertised it: a reference registry,
 * which advertises nothing, receives exactly what a reference daemon would send.
 */
export const RegistryExtension = {
  /** Signatures over `<challenge>:<timestamp>:<nonce>` (not replayable) are accepted. */
  FRESH_SIGNATURES: 'fresh-signatures',
  /** `register` takes a proof-of-possession signature over `register:<public_key>`. */
  SIGNED_REGISTER: 'signed-register',
  /** The `find` operation (capability search by tag or hostname), signed as a requester or not. */
  FIND: 'find',
  /** `list_nodes` signed as a member (`list_nodes:<id>:<net>`) shows private members, in pages (`offset`, `next_offset`). */
  SIGNED_LIST_NODES: 'signed-list-nodes',
  /** `create_network` signed by the creating node (`create_network:<id>:<name>`) instead of the admin token. */
  SIGNED_CREATE_NETWORK: 'signed-create-network',
  /**
   * Signature version 2 (`signature_version: 2`): a fresh signature also covers the request's values
   * (hostname, tags, visibility, join token, rotate's new key, … see `SIGNED_VALUE_FIELDS`), so that
   * nobody on the path can change them under a valid signature.
   */
  SIGNED_VALUES: 'signed-values',
  /**
   * `register` takes `tunnel_capabilities` (the names a pilot-ts daemon's tunnel supports beyond the
   * spec, covered by the register signature) and `lookup` shows them, so a peer knows before its
   * first PILA whether it may append the PILX extension (a reference peer never gets one).
   */
  TUNNEL_CAPABILITIES: 'tunnel-capabilities',
  /**
   * `reflector_port` in register_ok and beacon_list_ok: a second reflector (discover + STUN) on the
   * beacon's host, so that daemons classify their NAT (easy/hard mapping) without being told.
   */
  REFLECTOR: 'reflector',
  /**
   * `wss_port` in register_ok and beacon_list_ok: the TCP port of the relay over WebSocket-over-TLS
   * on the registry's host (same certificate as the registry), so that daemons whose UDP is blocked
   * find it without `--wss`.
   */
  WSS: 'wss',
  /**
   * The `birthday` operation: a node signs its intent to birthday-probe a peer (and learns the
   * peer's IPs), or asks which nodes intend to reach it. Daemons open birthday bursts only towards
   * IPs the registry vouches for this way.
   */
  BIRTHDAY: 'birthday',
} as const;
export type RegistryExtension = (typeof RegistryExtension)[keyof typeof RegistryExtension];

/** The field of a reply that carries the advertised extensions. */
export const EXTENSIONS_FIELD = 'extensions';

/** The extension names listed in a reply (unknown names kept: a newer registry may offer more). */
export function advertisedExtensions(reply: Readonly<Record<string, unknown>>): string[] {
  const value = reply[EXTENSIONS_FIELD];
  if (!Array.isArray(value)) return [];
  return value.filter((item): item is string => typeof item === 'string' && item.length <= 64).slice(0, 64);
}
