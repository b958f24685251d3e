import { GLOBAL_FLAGS } from '../argv.js';
import type { Command } from '../command.js';
import { CLI_ERROR_CODES } from '../errors.js';
import { VERSION } from '../version.js';
import { commCommands } from './comm.js';
import { daemonCommands } from './daemon.js';
import { diagCommands } from './diag.js';
import { mailboxCommands } from './mailbox.js';
import { mcpCommands } from './mcp.js';
import { mcpTools } from './mcp-tools.js';
import { nodeCommands } from './node.js';
import { registryCommands } from './registry.js';
import { serviceCommands } from './services.js';
import { setupCommands } from './setup.js';
import { trustCommands } from './trust.js';

/** The machine-readable manifest `pilotctl context` prints. */
export function manifest(commands: readonly Command[]): Record<string, unknown> {
  return {
    name: 'pilotctl',
    version: VERSION,
    conventions: {
      json: '--json anywhere: {"status":"ok","data":{…}} on stdout; errors {"status":"error","code","message","hint"?} on stderr, exit 1',
      usage_exit_code: 2,
      durations: 'written like 500ms, 5s, 2m, 1h (a bare number is seconds)',
      addresses: 'N:NNNN.HHHH.LLLL, a decimal node ID (network 0), or a hostname',
    },
    environment: {
      PILOT_HOME: 'config.json, identity, inbox/, received/, pilot.log (default ~/.pilot)',
      PILOT_SOCKET: 'the daemon\'s IPC socket (default: config "socket", else $PILOT_HOME/pilot.sock)',
      PILOT_REGISTRY: 'registry host:port for lookup/register/peers --search when nothing else names one',
    },
    global_flags: GLOBAL_FLAGS,
    commands: commands
      .filter((command) => command.hidden !== true)
      .map((command) => ({
        name: command.name,
        summary: command.summary,
        args: (command.args ?? []).map((arg) => ({
          name: arg.name,
          help: arg.help,
          required: arg.optional !== true && arg.variadic !== true,
          ...(arg.variadic === true ? { variadic: true } : {}),
        })),
        flags: command.flags ?? {},
        returns: command.fields,
        errors: command.errors,
      })),
    error_codes: CLI_ERROR_CODES,
  };
}

const context: Command = {
  name: 'context',
  summary: 'a machine-readable manifest of every command, its arguments, JSON fields and error codes',
  fields: ['name', 'version', 'conventions', 'environment', 'global_flags', 'commands', 'error_codes'],
  errors: [],
  async run() {
    const data = manifest(COMMANDS);
    return { data, human: JSON.stringify(data, null, 2) };
  },
};

/** Every pilotctl command. */
export const COMMANDS: readonly Command[] = [
  context,
  ...setupCommands,
  ...daemonCommands,
  ...nodeCommands,
  ...registryCommands,
  ...trustCommands,
  ...commCommands,
  ...serviceCommands,
  ...diagCommands,
  ...mailboxCommands,
  ...mcpCommands,
  mcpTools,
];
