import { PilotError } from '@pilot/wire';

export const RendezvousErrorCode = {
  /** A command-line flag is unknown, lacks its value, or has a value that does not parse. */
  BAD_FLAG: 'RDV_BAD_FLAG',
  /** The `--config` file cannot be read, is not a JSON object, or holds an unknown key or a wrong type. */
  BAD_CONFIG: 'RDV_BAD_CONFIG',
  /** The server could not start: the store cannot be opened, the address is taken, a TLS file is unreadable. */
  START_FAILED: 'RDV_START_FAILED',
} as const;

export type RendezvousErrorCode = (typeof RendezvousErrorCode)[keyof typeof RendezvousErrorCode];

export function rendezvousError(code: RendezvousErrorCode, message: string, cause?: unknown): PilotError {
  return new PilotError(code, message, cause === undefined ? undefined : { cause });
}
