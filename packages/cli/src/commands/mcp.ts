import { connectMcp, DEFAULT_MCP_PORT, type McpLog, serveMcp } from '@pilot/mcp';
import type { Command } from '../command.js';
import { PEER_ERRORS } from '../command.js';
import { usageError } from '../errors.js';

function noteLog(note: (text: string) => void, verbose: boolean): McpLog {
  return (level, message, fields) => {
    if (level === 'debug' && !verbose) return;
    note(`mcp ${level}: ${message}${fields === undefined ? '' : ` ${JSON.stringify(fields)}`}`);
  };
}

const serve: Command = {
  name: 'mcp serve',
  summary:
    'serve a stdio MCP server to trusted peers on a virtual port: pilotctl mcp serve [--port p] -- <command…>',
  flags: {
    port: { type: 'number', help: 'virtual port', default: String(DEFAULT_MCP_PORT) },
    shared: { type: 'boolean', help: 'one server process for every session (default: one per session)' },
    tags: { type: 'string', help: 'comma-separated capability tags to publish (with "mcp")' },
    verbose: { type: 'boolean', help: 'log every session event' },
  },
  fields: ['port', 'accepted', 'command'],
  errors: [...PEER_ERRORS, 'already_exists'],
  async run(context, args) {
    const [command, ...commandArgs] = args.rest;
    if (command === undefined)
      throw usageError(
        'mcp serve needs the server command after --, e.g. pilotctl mcp serve -- npx my-mcp-server',
      );
    const port = args.number('port', DEFAULT_MCP_PORT, { min: 1, max: 65_535 });
    const driver = await context.driver();
    const tags = args.string('tags');
    if (tags !== undefined) {
      const list = [
        'mcp',
        ...tags
          .split(',')
          .map((tag) => tag.trim())
          .filter((tag) => tag !== ''),
      ];
      await driver.setTags(list, { timeoutMs: 30_000 });
    }
    const handle = await serveMcp({
      listener: {
        listen: async (p: number) => {
          const listener = driver.listen(p);
          await listener.ready;
          return listener;
        },
      },
      port,
      command,
      args: commandArgs,
      shared: args.bool('shared'),
      log: noteLog((text) => context.out.note(text), args.bool('verbose')),
    });
    context.out.note(`serving MCP (${command}) on port ${port}; Ctrl-C stops`);
    await new Promise<void>((resolve) => {
      if (context.io.signal.aborted) resolve();
      context.io.signal.addEventListener('abort', () => resolve(), { once: true });
      driver.whenClosed().then(resolve, resolve);
    });
    const accepted = handle.accepted;
    await handle.close();
    return {
      data: { port, accepted, command: [command, ...commandArgs].join(' ') },
      human: `served ${accepted} sessions`,
    };
  },
};

const connect: Command = {
  name: 'mcp connect',
  summary: "bridge this process's stdio to a peer's MCP server (use it as the command of a local MCP client)",
  args: [{ name: 'target', help: 'address, node ID or hostname' }],
  flags: { port: { type: 'number', help: 'virtual port', default: String(DEFAULT_MCP_PORT) } },
  fields: ['target', 'port'],
  errors: PEER_ERRORS,
  async run(context, args) {
    const target = args.need('target');
    const port = args.number('port', DEFAULT_MCP_PORT, { min: 1, max: 65_535 });
    const driver = await context.driver();
    await connectMcp({
      dialer: driver,
      address: target,
      port,
      input: context.io.stdin,
      output: context.io.stdout,
      signal: context.io.signal,
      log: noteLog((text) => context.out.note(text), false),
    });
    return { data: { target, port }, human: '' };
  },
};

export const mcpCommands: readonly Command[] = [serve, connect];
