import type { Command } from './command.js';

function usageLine(command: Command): string {
  const args = (command.args ?? []).map((arg) =>
    arg.variadic ? `<${arg.name}…>` : arg.optional ? `[${arg.name}]` : `<${arg.name}>`,
  );
  return ['pilotctl', command.name, ...args].join(' ');
}

/** The usage of one command. */
export function commandHelp(command: Command): string {
  const lines = [`usage: ${usageLine(command)}${command.flags ? ' [flags]' : ''}`, '', command.summary];
  if (command.args !== undefined && command.args.length > 0) {
    lines.push('', 'arguments:');
    for (const arg of command.args) lines.push(`  ${arg.name.padEnd(16)} ${arg.help}`);
  }
  if (command.flags !== undefined) {
    lines.push('', 'flags:');
    for (const [name, flag] of Object.entries(command.flags)) {
      lines.push(
        `  --${name.padEnd(14)} ${flag.help}${flag.default === undefined ? '' : ` (default ${flag.default})`}`,
      );
    }
  }
  lines.push(
    '',
    `--json fields: ${command.fields.join(', ') || '(none)'}`,
    `error codes: ${command.errors.join(', ') || '(none)'}`,
  );
  return lines.join('\n');
}

/** The list of commands. */
export function overview(commands: readonly Command[]): string {
  const visible = commands.filter((command) => command.hidden !== true);
  const width = Math.max(...visible.map((command) => command.name.length)) + 2;
  return [
    'usage: pilotctl [--json] [--socket path] <command> [args] [flags]',
    '',
    ...visible.map((command) => `  ${command.name.padEnd(width)} ${command.summary}`),
    '',
    '"pilotctl <command> --help" shows a command\'s usage; "pilotctl context" prints all of it as JSON.',
  ].join('\n');
}
