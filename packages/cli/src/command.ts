import type { ArgSpec, Args, FlagSpec } from './argv.js';
import type { Context } from './context.js';
import type { CliErrorCode } from './errors.js';
import type { CommandResult } from './output.js';

/** One pilotctl command: its usage (which `context` publishes) and what it does. */
export interface Command {
  /** One or two words: `info`, `daemon start`. */
  readonly name: string;
  readonly summary: string;
  readonly args?: readonly ArgSpec[];
  readonly flags?: Readonly<Record<string, FlagSpec>>;
  /** The `data` fields of its `--json` result. */
  readonly fields: readonly string[];
  /** The error codes it may fail with. */
  readonly errors: readonly CliErrorCode[];
  /** Not listed by help or context (`_daemon-run`). */
  readonly hidden?: boolean;
  /** Flags not in `flags` are kept for the command (daemon start forwards the daemon's flags). */
  readonly passthrough?: (name: string) => FlagSpec['type'] | undefined;
  run(context: Context, args: Args): Promise<CommandResult>;
}

/** Errors any command that talks to the daemon may give. */
export const DAEMON_ERRORS: readonly CliErrorCode[] = ['not_running', 'invalid_argument', 'internal'];

/** Errors of commands that reach a peer. */
export const PEER_ERRORS: readonly CliErrorCode[] = [
  ...DAEMON_ERRORS,
  'not_found',
  'not_trusted',
  'connection_failed',
  'timeout',
  'unavailable',
  'auth_required',
];
