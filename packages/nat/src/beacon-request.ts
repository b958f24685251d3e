import { type BeaconMessage, BeaconMessageType, decodeBeaconMessage, encodeBeaconMessage } from '@pilot/wire';
import { type DiscoverProof, decodeDiscoverProof } from './discover-proof.js';
import { NatErrorCode, natError } from './errors.js';
import { decodeSyncAuth, type SyncAuth } from './sync-auth.js';

/**
 * Sizes our nodes pad requests to, so that a beacon that never answers with more bytes than it got
 * can still answer: a discover reply with an IPv6 endpoint is 20 bytes, and a punch request makes
 * two punch commands (one to each side) of up to 20 bytes each.
 */
export const DISCOVER_PADDED_SIZE = 20;
export const PUNCH_REQUEST_PADDED_SIZE = 40;

const FIXED_SIZE: Readonly<Record<number, number>> = {
  [BeaconMessageType.DISCOVER]: 5,
  [BeaconMessageType.PUNCH_REQUEST]: 9,
};

/** A beacon request as received: the message and whether zero padding followed it. */
export interface BeaconRequest {
  readonly message: BeaconMessage;
  readonly padded: boolean;
  /** A discover's proof of identity (see discover-proof.ts), when it carries one. */
  readonly proof?: DiscoverProof;
  /** A sync's authentication tail (see sync-auth.ts) and the bytes it covers, when it carries one. */
  readonly syncAuth?: { readonly auth: SyncAuth; readonly signed: Uint8Array };
}

/** `message` followed by zero bytes up to `size` (no padding if it is already that long). */
export function encodePaddedBeaconMessage(message: BeaconMessage, size: number): Uint8Array {
  const bytes = encodeBeaconMessage(message);
  if (bytes.length >= size) return bytes;
  const padded = new Uint8Array(size);
  padded.set(bytes);
  return padded;
}

/**
 * Decodes a datagram sent to a beacon. Discover and punch request may be followed by zero padding,
 * a discover also by a proof of identity (anything else after them is NAT_BAD_PADDING); a sync may
 * be followed by an authentication tail; every other message must fill the datagram, as
 * `decodeBeaconMessage` requires. Throws only PilotError.
 */
export function decodeBeaconRequest(bytes: Uint8Array): BeaconRequest {
  if (bytes[0] === BeaconMessageType.SYNC && bytes.length >= 7) {
    const listed = 7 + 4 * new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getUint16(5);
    if (bytes.length > listed) {
      const auth = decodeSyncAuth(bytes.subarray(listed));
      if (auth === undefined)
        throw natError(
          NatErrorCode.BAD_PADDING,
          `${bytes.length - listed} bytes after a sync are no authentication tail`,
        );
      const signed = bytes.subarray(0, listed);
      return { message: decodeBeaconMessage(signed), padded: false, syncAuth: { auth, signed } };
    }
  }
  const fixed = FIXED_SIZE[bytes[0] ?? -1];
  if (fixed === undefined || bytes.length <= fixed) {
    return { message: decodeBeaconMessage(bytes), padded: false };
  }
  if (bytes[0] === BeaconMessageType.DISCOVER) {
    const proof = decodeDiscoverProof(bytes.subarray(fixed));
    if (proof !== undefined)
      return { message: decodeBeaconMessage(bytes.subarray(0, fixed)), padded: false, proof };
  }
  for (let i = fixed; i < bytes.length; i++) {
    if (bytes[i] !== 0)
      throw natError(NatErrorCode.BAD_PADDING, `non-zero byte at ${i} after a beacon request`);
  }
  return { message: decodeBeaconMessage(bytes.subarray(0, fixed)), padded: true };
}
