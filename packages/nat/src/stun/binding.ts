import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:dgram';
import { checkUdpAddress, fromIpEndpoint, isPilotError, sameUdpAddress, type UdpAddress } from '@pilot/wire';
import { type RetransmitOptions, transact } from '../_transact.js';
import { NatErrorCode, natError } from '../errors.js';
import { STUN_HEADER_SIZE, StunClass, StunMethod } from './constants.js';
import { decodeStunMessage, encodeStunMessage, type StunAttribute, softwareAttribute } from './message.js';

/** Options of `stunBinding`: the retransmission schedule plus what to put in the request. */
export interface StunBindingOptions extends RetransmitOptions {
  /**
   * Pad the request (with SOFTWARE, which every server may ignore) to at least this many bytes, so a
   * server that never sends more than it receives (our beacon in strict mode) can answer with
   * XOR-MAPPED-ADDRESS and FINGERPRINT. Default 52 (room for an IPv6 answer); 0 sends a bare request.
   */
  readonly padTo?: number;
  /** Add a FINGERPRINT to the request. Default true. */
  readonly fingerprint?: boolean;
}

/** What a Binding transaction learnt. */
export interface StunBindingResult {
  /** The reflexive transport address: where the server saw the request come from. */
  readonly reflexive: UdpAddress;
  /** Milliseconds from the first send to the answer. */
  readonly rttMs: number;
  readonly software?: string;
}

/** The default request size: 20 header + 24 XOR-MAPPED-ADDRESS (IPv6) + 8 FINGERPRINT. */
export const STUN_PADDED_REQUEST_SIZE = 52;

/** A Binding request with a fresh transaction ID, padded to `padTo` bytes. */
export function encodeBindingRequest(
  transactionId: Uint8Array,
  options: { readonly padTo?: number; readonly fingerprint?: boolean } = {},
): Uint8Array {
  const fingerprint = options.fingerprint ?? true;
  const padTo = options.padTo ?? STUN_PADDED_REQUEST_SIZE;
  const attributes: StunAttribute[] = [];
  const bare = STUN_HEADER_SIZE + (fingerprint ? 8 : 0);
  if (padTo > bare) {
    // SOFTWARE text of n bytes costs 4 + ceil4(n); the smallest n that reaches padTo.
    const room = Math.max(1, Math.min(120, padTo - bare - 4));
    attributes.push(softwareAttribute(`pilot-ts${' '.repeat(Math.max(0, room - 8))}`.slice(0, room)));
  }
  return encodeStunMessage({
    method: StunMethod.BINDING,
    messageClass: StunClass.REQUEST,
    transactionId,
    attributes,
    fingerprint,
  });
}

/**
 * Asks the STUN server `server` (an IP literal and port) where it sees `socket`, on that socket,
 * retransmitting per RFC 8489 §6.2.1. Answers from other addresses, with other transaction IDs or
 * that do not decode are ignored. Resolves with the XOR-MAPPED-ADDRESS (or MAPPED-ADDRESS from an
 * old server); rejects with NAT_TIMEOUT, NAT_ABORTED, NAT_STUN_ERROR_RESPONSE or NAT_STUN_NO_ADDRESS.
 */
export async function stunBinding(
  socket: Socket,
  server: UdpAddress,
  options: StunBindingOptions = {},
): Promise<StunBindingResult> {
  checkUdpAddress(server);
  const transactionId = new Uint8Array(randomBytes(12));
  const encodeOptions = {
    ...(options.padTo === undefined ? {} : { padTo: options.padTo }),
    ...(options.fingerprint === undefined ? {} : { fingerprint: options.fingerprint }),
  };
  const request = encodeBindingRequest(transactionId, encodeOptions);
  const started = performance.now();
  return transact(
    socket,
    server,
    request,
    (bytes, from) => {
      if (!sameUdpAddress(from, server)) return undefined;
      let message: ReturnType<typeof decodeStunMessage>;
      try {
        message = decodeStunMessage(bytes);
      } catch (error) {
        if (isPilotError(error)) return undefined;
        throw error;
      }
      if (message.method !== StunMethod.BINDING || !equalBytes(message.transactionId, transactionId))
        return undefined;
      if (message.messageClass === StunClass.ERROR) {
        const code = message.errorCode;
        throw natError(
          NatErrorCode.STUN_ERROR_RESPONSE,
          `STUN error ${code?.code ?? '?'} ${code?.reason ?? ''}`.trim(),
        );
      }
      if (message.messageClass !== StunClass.SUCCESS) return undefined;
      const mapped = message.xorMappedAddress ?? message.mappedAddress;
      if (mapped === undefined)
        throw natError(NatErrorCode.STUN_NO_ADDRESS, 'Binding success without a mapped address');
      return {
        reflexive: fromIpEndpoint(mapped),
        rttMs: performance.now() - started,
        ...(message.software === undefined ? {} : { software: message.software }),
      };
    },
    options,
  );
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
