import { type Address, isPilotError, parseAddress } from '@pilot/wire';
import { DriverErrorCode, driverError } from './errors.js';

const NODE_ID = /^\d{1,10}$/;
const HOSTNAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** What a user may write for a peer: an address, a bare node ID on the backbone, or a hostname. */
export type Target =
  | { readonly kind: 'address'; readonly address: Address }
  | { readonly kind: 'hostname'; readonly hostname: string };

/**
 * Reads `N:NNNN.HHHH.LLLL`, a decimal node ID (→ network 0), or a hostname (lower-case letters,
 * digits and hyphens). Anything else is DRIVER_BAD_ARGUMENT.
 */
export function parseTarget(text: string): Target {
  if (text.includes(':')) {
    try {
      return { kind: 'address', address: parseAddress(text) };
    } catch (error) {
      throw driverError(
        DriverErrorCode.BAD_ARGUMENT,
        isPilotError(error) ? error.message : `bad address "${text}"`,
        error,
      );
    }
  }
  if (NODE_ID.test(text)) {
    const node = Number(text);
    if (node <= 0xffff_ffff) return { kind: 'address', address: { network: 0, node } };
  }
  const lower = text.toLowerCase();
  if (HOSTNAME.test(lower)) return { kind: 'hostname', hostname: lower };
  throw driverError(
    DriverErrorCode.BAD_ARGUMENT,
    `"${text}" is not an address (N:NNNN.HHHH.LLLL), a node ID or a hostname`,
  );
}
