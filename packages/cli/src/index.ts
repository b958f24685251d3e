export {
  type ArgSpec,
  Args,
  type FlagSpec,
  type FlagType,
  GLOBAL_FLAGS,
  parseArgs,
  parseDuration,
} from './argv.js';
export { runCli } from './cli.js';
export type { Command } from './command.js';
export { COMMANDS, manifest } from './commands/index.js';
export { type CliIo, Context } from './context.js';
export { CLI_ERROR_CODES, CliError, type CliErrorCode, cliError, toCliError } from './errors.js';
export { type CommandResult, Output } from './output.js';
export { VERSION } from './version.js';
