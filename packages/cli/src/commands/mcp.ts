import { Duplex } from 'node:stream';
import type { McpLog } from '@pilot/mcp';
import { isPilotError } from '@pilot/wire';
import type { Command } from '../command.js';
import { PEER_ERRORS } from '../command.js';
import { CliError, cliError, toCliError, usageError } from '../errors.js';

function noteLog(note: (text: string) => void, verbose: boolean): McpLog {
  return (level, message, fields) => {
    if (level === 'debug' && !verbose) return;
    note(`mcp ${level}: ${message}${fields === undefined ? '' : ` ${JSON.stringify(fields)}`}`);
  };
}

/**
 * `DEFAULT_MCP_PORT` of @pilot/mcp, written here so that other commands start without loading
 * @pilot/mcp (the MCP SDK and zod: about a hundred modules). `test/cold-start.test.ts` checks it.
 */
export const MCP_PORT = 1010;

/** @pilot/mcp, loaded when an mcp command runs. */
function loadMcp(): Promise<typeof import('@pilot/mcp')> {
  return import('@pilot/mcp');
}

/** The MCP protocol revision pilotctl announces when it lists a server's tools. */
const LIST_PROTOCOL_VERSION = '2025-06-18';
const LIST_TIMEOUT_MS = 20_000;

/**
 * Runs the server command once over stdio and asks it for its tools (initialize, initialized,
 * tools/list with every page), so `--publish-tools` can advertise them; the process is ended after.
 */
async function listServerTools(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<string[]> {
  const [{ DuplexTransport }, { spawn }] = await Promise.all([loadMcp(), import('node:child_process')]);
  const child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'ignore'] });
  const { stdin, stdout } = child;
  // A server that exits at once makes our first write fail with EPIPE: the exit explains it better.
  stdin.on('error', () => {});
  const transport = new DuplexTransport(Duplex.from({ readable: stdout, writable: stdin }), { lingerMs: 0 });
  const answers = new Map<number, (message: Record<string, unknown>) => void>();
  let failed: ((error: Error) => void) | undefined;
  const failure = new Promise<never>((_, reject) => {
    failed = reject;
  });
  failure.catch(() => {});
  const fail = (message: string): void =>
    failed?.(cliError('internal', `cannot list the tools of "${command}": ${message}`));
  child.once('error', (error) => fail(error.message));
  child.once('exit', (code, signal) => fail(`it exited (${signal ?? code}) before answering`));
  transport.onmessage = (message) => {
    const reply = message as Record<string, unknown>;
    if (typeof reply.id === 'number') answers.get(reply.id)?.(reply);
  };
  let nextId = 0;
  const request = async (
    method: string,
    params: Record<string, unknown>,
  ): Promise<Record<string, unknown>> => {
    const id = ++nextId;
    const answered = new Promise<Record<string, unknown>>((resolve) => answers.set(id, resolve));
    await transport.send({ jsonrpc: '2.0', id, method, params });
    const reply = await Promise.race([answered, failure]);
    if (reply.error !== undefined)
      throw cliError(
        'internal',
        `cannot list the tools of "${command}": ${method} failed: ${JSON.stringify(reply.error)}`,
      );
    return (reply.result ?? {}) as Record<string, unknown>;
  };
  const timer = setTimeout(() => fail(`no answer within ${LIST_TIMEOUT_MS / 1000} s`), LIST_TIMEOUT_MS);
  try {
    await transport.start();
    await request('initialize', {
      protocolVersion: LIST_PROTOCOL_VERSION,
      capabilities: {},
      clientInfo: { name: 'pilotctl', version: '0.1.0' },
    });
    await transport.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    const names: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await request('tools/list', cursor === undefined ? {} : { cursor });
      for (const tool of (page.tools ?? []) as { name?: unknown }[])
        if (typeof tool.name === 'string') names.push(tool.name);
      cursor = typeof page.nextCursor === 'string' ? page.nextCursor : undefined;
    } while (cursor !== undefined);
    return names;
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw cliError('internal', `cannot list the tools of "${command}": ${(error as Error).message}`);
  } finally {
    clearTimeout(timer);
    failed = undefined;
    await transport.close().catch(() => {});
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const hard = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(hard);
    }
  }
}

const serve: Command = {
  name: 'mcp serve',
  summary:
    'serve a stdio MCP server to trusted peers on a virtual port: pilotctl mcp serve [--port p] -- <command…>',
  flags: {
    port: { type: 'number', help: 'virtual port', default: String(MCP_PORT) },
    shared: { type: 'boolean', help: 'one server process for every session (default: one per session)' },
    tags: { type: 'string', help: 'comma-separated capability tags to publish (with "mcp")' },
    'publish-tools': {
      type: 'boolean',
      help: "also publish the server's tool names as tags (the server is run once to list them)",
    },
    verbose: { type: 'boolean', help: 'log every session event' },
  },
  fields: ['port', 'accepted', 'command', 'tags'],
  errors: [...PEER_ERRORS, 'already_exists'],
  async run(context, args) {
    const [command, ...commandArgs] = args.rest;
    if (command === undefined)
      throw usageError(
        'mcp serve needs the server command after --, e.g. pilotctl mcp serve -- npx my-mcp-server',
      );
    const port = args.number('port', MCP_PORT, { min: 1, max: 65_535 });
    const { mcpToolTags, serveMcp } = await loadMcp();
    const driver = await context.driver();
    const tags = args.string('tags');
    const publishTools = args.bool('publish-tools');
    let published: string[] = [];
    if (tags !== undefined || publishTools) {
      const leading = [
        'mcp',
        ...(tags ?? '')
          .split(',')
          .map((tag) => tag.trim())
          .filter((tag) => tag !== ''),
      ];
      const tools = publishTools ? await listServerTools(command, commandArgs, context.io.env) : [];
      published = mcpToolTags(tools, { leading });
      await driver.setTags(published, { timeoutMs: 30_000 });
      context.out.note(`published tags: ${published.join(', ')}`);
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
      data: { port, accepted, command: [command, ...commandArgs].join(' '), tags: published },
      human: `served ${accepted} sessions`,
    };
  },
};

const connect: Command = {
  name: 'mcp connect',
  summary: "bridge this process's stdio to a peer's MCP server (use it as the command of a local MCP client)",
  args: [{ name: 'target', help: 'address, node ID or hostname' }],
  flags: { port: { type: 'number', help: 'virtual port', default: String(MCP_PORT) } },
  fields: ['target', 'port'],
  errors: PEER_ERRORS,
  async run(context, args) {
    const target = args.need('target');
    const port = args.number('port', MCP_PORT, { min: 1, max: 65_535 });
    const { connectMcp, McpErrorCode } = await loadMcp();
    const driver = await context.driver();
    try {
      await connectMcp({
        dialer: driver,
        address: target,
        port,
        input: context.io.stdin,
        output: context.io.stdout,
        signal: context.io.signal,
        log: noteLog((text) => context.out.note(text), false),
      });
    } catch (error) {
      // The dial's own failure (not_trusted, not_found, timeout…) is what the operator needs to read.
      if (isPilotError(error, McpErrorCode.CONNECT_FAILED) && isPilotError(error.cause))
        throw toCliError(error.cause);
      throw error;
    }
    return { data: { target, port }, human: '' };
  },
};

export const mcpCommands: readonly Command[] = [serve, connect];
