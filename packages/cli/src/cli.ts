import { Args, parseArgs } from './argv.js';
import type { Command } from './command.js';
import { COMMANDS } from './commands/index.js';
import { type CliIo, Context } from './context.js';
import { toCliError, usageError } from './errors.js';
import { commandHelp, overview } from './help.js';
import { Output } from './output.js';

interface Globals {
  readonly json: boolean;
  readonly help: boolean;
  readonly socket: string | undefined;
  readonly rest: string[];
}

/** Takes --json, --help and --socket from anywhere before a bare `--`. */
function takeGlobals(argv: readonly string[]): Globals {
  let json = false;
  let help = false;
  let socket: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] as string;
    if (token === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (token === '--json' || token === '--json=true') json = true;
    else if (token === '--json=false') json = false;
    else if (token === '--help' || token === '-h') help = true;
    else if (token === '--socket') {
      const value = argv[i + 1];
      if (value === undefined) throw usageError('--socket needs a path');
      socket = value;
      i++;
    } else if (token.startsWith('--socket=')) socket = token.slice('--socket='.length);
    else rest.push(token);
  }
  return { json, help, socket, rest };
}

function findCommand(words: readonly string[]): { command: Command; used: number } | undefined {
  const [first, second] = words;
  if (first === undefined) return undefined;
  if (second !== undefined) {
    const two = COMMANDS.find((command) => command.name === `${first} ${second}`);
    if (two !== undefined) return { command: two, used: 2 };
  }
  const one = COMMANDS.find((command) => command.name === first);
  return one === undefined ? undefined : { command: one, used: 1 };
}

/**
 * Runs pilotctl with `argv` (without node and the script) and returns the exit status: 0 on
 * success, 1 on failure, 2 on a usage error.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const wantsJson = argv.slice(0, argv.includes('--') ? argv.indexOf('--') : undefined).includes('--json');
  let out = new Output(wantsJson, io.stdout, io.stderr);
  let context: Context | undefined;
  try {
    const globals = takeGlobals(argv);
    out = new Output(globals.json, io.stdout, io.stderr);
    const words = globals.rest;
    if (words.length === 0 || words[0] === 'help') {
      const topic = words[0] === 'help' ? findCommand(words.slice(1)) : undefined;
      if (words.length === 0 && !globals.help && globals.json) throw usageError('no command given');
      const text = topic === undefined ? overview(COMMANDS) : commandHelp(topic.command);
      out.result({ data: { help: text }, human: text });
      return words.length === 0 && !globals.help ? 2 : 0;
    }
    const found = findCommand(words);
    if (found === undefined) {
      const group = COMMANDS.filter((command) => command.name.startsWith(`${words[0]} `)).map(
        (command) => command.name,
      );
      throw usageError(
        group.length > 0
          ? `"${words.join(' ')}" is not a command; did you mean ${group.join(', ')}?`
          : `unknown command "${words[0]}"`,
      );
    }
    const { command, used } = found;
    if (globals.help) {
      const text = commandHelp(command);
      out.result({ data: { help: text }, human: text });
      return 0;
    }
    const commandArgv = words.slice(used);
    const parsed = parseArgs(
      commandArgv,
      command.flags ?? {},
      command.passthrough === undefined ? {} : { passthrough: command.passthrough },
    );
    const args = new Args(parsed, command.args ?? []);
    context = new Context(io, out, globals.socket, commandArgv);
    const result = await command.run(context, args);
    out.result(result);
    return 0;
  } catch (error) {
    const failure = toCliError(error);
    out.error(failure);
    return failure.exitCode;
  } finally {
    await context?.close();
  }
}
