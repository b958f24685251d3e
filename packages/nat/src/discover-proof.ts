import { type Identity, sign, verify } from '@pilot/crypto';

/**
 * An optional extension of the beacon's discover (spec §4, `[0x01][u32 node]`): the node proves it
 * holds the node's Ed25519 key, so that a beacon which knows the registry's keys lets only the node
 * itself move where the node is recorded (where relayed frames and punch commands go).
 *
 * Layout after the 5-byte discover: `[u8 version = 1][u64 BE unix ms][64-byte Ed25519 signature]`
 * over the ASCII text `beacon_discover:<node>:<unix ms>`. 78 bytes in all.
 *
 * Compatibility: the reference beacon reads the first 4 bytes after the type and ignores the rest,
 * and a beacon of ours without the registry's keys takes it as padding, so the proof is sent to any
 * beacon; nothing needs negotiating. The proof is bound to the node and a timestamp that must grow
 * from one accepted proof to the next (a replayed proof is refused), not to the source address: an
 * attacker on the path could re-send a captured discover from elsewhere, but such an attacker can
 * black-hole the node's traffic anyway.
 */
export const DISCOVER_PROOF_VERSION: number = 1;
export const DISCOVER_PROOF_SIZE: number = 1 + 8 + 64;
/** Discover (5 bytes) followed by a proof. */
export const PROVEN_DISCOVER_SIZE: number = 5 + DISCOVER_PROOF_SIZE;

export interface DiscoverProof {
  readonly timestampMs: number;
  readonly signature: Uint8Array;
}

function signedText(node: number, timestampMs: number): Uint8Array {
  return new TextEncoder().encode(`beacon_discover:${node}:${timestampMs}`);
}

/** The proof bytes (to append to a discover) for `node` at `timestampMs`. */
export function encodeDiscoverProof(identity: Identity, node: number, timestampMs: number): Uint8Array {
  const out = new Uint8Array(DISCOVER_PROOF_SIZE);
  out[0] = DISCOVER_PROOF_VERSION;
  new DataView(out.buffer).setBigUint64(1, BigInt(timestampMs));
  out.set(sign(identity, signedText(node, timestampMs)), 9);
  return out;
}

/** The proof in `tail` (the bytes after a discover's 5), or undefined if it is not one. Never throws. */
export function decodeDiscoverProof(tail: Uint8Array): DiscoverProof | undefined {
  if (tail.length !== DISCOVER_PROOF_SIZE || tail[0] !== DISCOVER_PROOF_VERSION) return undefined;
  const timestamp = new DataView(tail.buffer, tail.byteOffset, tail.length).getBigUint64(1);
  if (timestamp > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return { timestampMs: Number(timestamp), signature: tail.slice(9) };
}

/** Whether `proof` is `publicKey`'s proof for `node`. */
export function checkDiscoverProof(node: number, proof: DiscoverProof, publicKey: Uint8Array): boolean {
  return verify(proof.signature, signedText(node, proof.timestampMs), publicKey);
}
