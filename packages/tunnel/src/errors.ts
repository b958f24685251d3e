import { PilotError } from '@pilot/wire';

/** The tunnel layer's error codes. Values are part of the public API: never rename one. */
export const TunnelErrorCode = {
  /** No path to the node: unknown to the registry, no endpoint and no beacon, or our own node. */
  UNREACHABLE: 'TUNNEL_UNREACHABLE',
  /** Nothing authenticated came back from the node before the deadline. */
  TIMEOUT: 'TUNNEL_TIMEOUT',
  /** The node answered, but its PILA did not verify against the key the registry holds. */
  BAD_KEY: 'TUNNEL_BAD_KEY',
  /** The manager is closed, or its socket is not bound (or bound twice). */
  CLOSED: 'TUNNEL_CLOSED',
} as const;

export type TunnelErrorCode = (typeof TunnelErrorCode)[keyof typeof TunnelErrorCode];

export function tunnelError(code: TunnelErrorCode, message: string, cause?: unknown): PilotError {
  return new PilotError(code, message, cause === undefined ? undefined : { cause });
}
