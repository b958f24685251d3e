import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * An optional authentication tail for the beacons' sync (spec §4, `[0x07][u32 beacon][u16 n][n × u32]`).
 * The reference accepts a sync from any datagram whose source address is a configured peer, and
 * source addresses are spoofable: a forged sync could point the relay of any node at the wrong peer
 * beacon (black-holing it) or fill the peer table. Beacons that share a key (configured per peer)
 * append, after the node list:
 *
 *   `[u8 version = 1][8-byte sender instance][u64 BE sequence][32-byte HMAC-SHA256]`   49 bytes
 *
 * The HMAC, keyed with the pair's key, covers the label `pilot-beacon-sync-v1`, the whole sync
 * message and the first 17 bytes of the tail. Replay: the sequence grows with every datagram a beacon
 * sends (it starts from the clock, `ms × 1024`, so it keeps growing across restarts); the receiver
 * keeps a 256-wide window per peer (reordered chunks of one round pass, a replayed datagram does not)
 * and refuses a sequence whose clock part is more than a window (60 s) from its own clock, so an old
 * capture cannot be replayed after the receiver restarts either. Reflection: both directions use the
 * same key, so a beacon refuses a sync that carries its own instance ID (its own datagram sent back).
 *
 * Compatibility: the reference reads the node list and ignores what follows, so the tail is harmless
 * to it; a tail is only sent to a peer configured with a key, and a keyed peer's sync must carry one.
 */
export const SYNC_AUTH_VERSION: number = 1;
export const SYNC_AUTH_SIZE: number = 1 + 8 + 8 + 32;
/** Sequence units per millisecond: up to 1,024 sync datagrams a millisecond before it runs ahead of the clock. */
export const SYNC_SEQUENCE_PER_MS: number = 1024;
/** Shortest key accepted (bytes). */
export const SYNC_KEY_MIN_SIZE: number = 16;

const LABEL = new TextEncoder().encode('pilot-beacon-sync-v1');

export interface SyncAuth {
  readonly instance: Uint8Array;
  readonly sequence: bigint;
  readonly tag: Uint8Array;
}

function mac(key: Uint8Array, message: Uint8Array, header: Uint8Array): Uint8Array {
  const hmac = createHmac('sha256', key);
  hmac.update(LABEL);
  hmac.update(message);
  hmac.update(header);
  return new Uint8Array(hmac.digest());
}

/** A beacon's instance ID: random, chosen at start. */
export function newSyncInstance(): Uint8Array {
  return new Uint8Array(randomBytes(8));
}

/** The tail to append to the sync `message` (its encoded bytes). */
export function encodeSyncAuth(
  key: Uint8Array,
  message: Uint8Array,
  instance: Uint8Array,
  sequence: bigint,
): Uint8Array {
  const out = new Uint8Array(SYNC_AUTH_SIZE);
  out[0] = SYNC_AUTH_VERSION;
  out.set(instance.subarray(0, 8), 1);
  new DataView(out.buffer).setBigUint64(9, sequence);
  out.set(mac(key, message, out.subarray(0, 17)), 17);
  return out;
}

/** The tail in `bytes` (what followed a sync's node list), or undefined if it is not one. Never throws. */
export function decodeSyncAuth(bytes: Uint8Array): SyncAuth | undefined {
  if (bytes.length !== SYNC_AUTH_SIZE || bytes[0] !== SYNC_AUTH_VERSION) return undefined;
  return {
    instance: bytes.slice(1, 9),
    sequence: new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getBigUint64(9),
    tag: bytes.slice(17),
  };
}

/** Whether `auth` is `key`'s tag over `message` (constant-time comparison). */
export function checkSyncAuth(key: Uint8Array, message: Uint8Array, auth: SyncAuth): boolean {
  const header = new Uint8Array(17);
  header[0] = SYNC_AUTH_VERSION;
  header.set(auth.instance, 1);
  new DataView(header.buffer).setBigUint64(9, auth.sequence);
  const expected = mac(key, message, header);
  return auth.tag.length === expected.length && timingSafeEqual(auth.tag, expected);
}

/** Hands out strictly growing sequences that start from (and catch up with) the clock. */
export class SyncSequence {
  #last = 0n;

  next(nowMs: number): bigint {
    const clock = BigInt(Math.max(0, Math.floor(nowMs))) * BigInt(SYNC_SEQUENCE_PER_MS);
    this.#last = clock > this.#last ? clock : this.#last + 1n;
    return this.#last;
  }
}

/** The clock part (ms) of a sequence. */
export function syncSequenceMs(sequence: bigint): number {
  return Number(sequence / BigInt(SYNC_SEQUENCE_PER_MS));
}
