import type { Command } from '../command.js';
import { DAEMON_ERRORS } from '../command.js';
import { usageError } from '../errors.js';

/**
 * `pilotctl mcp tools`: the MCP tool server of @pilot/mcp/tools (the same as the pilot-mcp
 * program), loaded only when this command runs so that other commands start without it.
 */
export const mcpTools: Command = {
  name: 'mcp tools',
  summary:
    'an MCP server (stdio, or Streamable HTTP with --http) exposing this node to an agent as tools; --print-config <harness> prints its config snippet',
  flags: {
    http: {
      type: 'string',
      help: 'serve Streamable HTTP at [host:]port/mcp instead of stdio (host 127.0.0.1)',
    },
    'read-only': { type: 'boolean', help: 'offer only the tools that change nothing' },
    'print-config': {
      type: 'string',
      help: 'print the JSON to add it to claude, cursor, vscode or generic, and exit',
    },
    'max-payload': {
      type: 'number',
      help: 'largest message, event or remote-tool arguments, in bytes',
      default: '1048576',
    },
    'max-file': { type: 'number', help: 'largest file pilot_send_file sends, in bytes', default: '67108864' },
  },
  fields: ['served', 'config'],
  errors: [...DAEMON_ERRORS],
  async run(context, args) {
    const tools = await import('@pilot/mcp/tools');
    const harness = args.string('print-config');
    const http = args.string('http');
    if (harness !== undefined) {
      const env: Record<string, string> = {};
      if (!context.socketGiven && context.io.env.PILOT_SOCKET) env.PILOT_SOCKET = context.io.env.PILOT_SOCKET;
      if (context.io.env.PILOT_HOME) env.PILOT_HOME = context.io.env.PILOT_HOME;
      const cmdArgs = [
        'mcp',
        'tools',
        ...(args.bool('read-only') ? ['--read-only'] : []),
        ...(context.socketGiven ? ['--socket', context.socketPath] : []),
      ];
      let url: string | undefined;
      if (http !== undefined) {
        const { host, port } = tools.parseListen(http);
        url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/mcp`;
      }
      let config: Record<string, unknown>;
      try {
        config = tools.harnessConfig(harness, {
          command: 'pilotctl',
          args: cmdArgs,
          env,
          ...(url === undefined ? {} : { url }),
        });
      } catch (error) {
        throw usageError((error as Error).message);
      }
      return { data: { config }, human: JSON.stringify(config, null, 2) };
    }
    await tools.runToolServer({
      socketPath: context.socketPath,
      home: context.home,
      readOnly: args.bool('read-only'),
      limits: {
        maxPayloadBytes: args.number('max-payload', 1024 * 1024, { min: 1 }),
        maxFileBytes: args.number('max-file', 64 * 1024 * 1024, { min: 1 }),
      },
      ...(http === undefined ? {} : { http }),
      input: context.io.stdin,
      output: context.io.stdout,
      note: (text) => context.out.note(text),
      signal: context.io.signal,
    });
    // stdout was the MCP channel: print nothing more there.
    return { data: { served: true }, human: '' };
  },
};
