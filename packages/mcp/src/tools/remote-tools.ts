import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { formatAddress } from '@pilot/wire';
import { DEFAULT_MCP_PORT } from '../stream-interfaces.js';
import { checkSize } from './data-tools.js';
import { queryTags } from './node-tools.js';
import {
  array,
  boolean,
  integer,
  number,
  object,
  openObject,
  PEER,
  type PilotTool,
  READ_ONLY,
  string,
} from './tool-definition.js';
import { failureJson, ToolFailure, toToolFailure } from './tool-error.js';

const PORT = integer(`the virtual port the MCP server listens on (default ${DEFAULT_MCP_PORT})`, 1, 65_535);
const LIST_TIMEOUT_MS = 10_000;
const MAX_DISCOVERED = 20;
/**
 * A remote server's tool list is hostile input that lands in the agent's context: at most this many
 * tools per server, descriptions cut, oversized schemas left out, and (for mount) only names a
 * client accepts.
 */
export const MAX_REMOTE_TOOLS = 100;
export const MAX_REMOTE_DESCRIPTION = 1000;
export const MAX_REMOTE_SCHEMA_BYTES: number = 16 * 1024;
const TOOL_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

function cut(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  return text.length > MAX_REMOTE_DESCRIPTION ? `${text.slice(0, MAX_REMOTE_DESCRIPTION)}…` : text;
}

function schemaFits(schema: unknown): boolean {
  return Buffer.byteLength(JSON.stringify(schema ?? {})) <= MAX_REMOTE_SCHEMA_BYTES;
}

const REMOTE_TOOL = openObject(
  {
    name: string('tool name on the remote server'),
    description: string('its description'),
    input_schema: { type: 'object', description: 'its JSON Schema input' },
    matches: boolean('its name or description contains a word of the query'),
  },
  ['name', 'matches'],
);

const SERVER = openObject(
  {
    node_id: integer('node ID'),
    address: string('address'),
    hostname: string('hostname ("" when none)'),
    public: boolean('public node'),
    score: number('how many of the query tags it carries'),
    tags: array(string('tag'), 'its directory tags (the MCP server publishes its tool names as tags)'),
    trusted: boolean('this node trusts it: its tools can be listed and called'),
    tools: array(REMOTE_TOOL, 'its live tool list (trusted servers, with list_tools)'),
    error: { type: 'object', description: 'why its tools could not be listed' },
    how_to_call: string('what to do next'),
    tools_omitted: integer(`tools beyond the first ${MAX_REMOTE_TOOLS}, not listed`),
  },
  ['node_id', 'address', 'hostname', 'public', 'score', 'tags', 'trusted', 'how_to_call'],
);

const discover: PilotTool<{ query: string; list_tools?: boolean; port?: number; limit?: number }> = {
  name: 'pilot_discover_tools',
  title: 'Discover MCP tools on the network',
  description:
    'Find MCP servers on the Pilot network that offer tools matching a capability ("weather", "get_forecast", "translate text"): the registry\'s tags (servers publish "mcp" and their tool names), then, for servers this node trusts, their live tool list with input schemas. Call one with pilot_call_remote_tool; an untrusted server needs pilot_handshake first.',
  inputSchema: object(
    {
      query: string('a tag, tool name or words', { minLength: 1, maxLength: 400 }),
      list_tools: boolean('ask trusted servers for their tool lists (default true)'),
      port: PORT,
      limit: integer(`at most this many servers (default ${MAX_DISCOVERED})`, 1, 100),
    },
    ['query'],
  ),
  outputSchema: object({ servers: array(SERVER), count: integer('how many') }, ['servers', 'count']),
  annotations: { ...READ_ONLY, openWorldHint: true },
  async run({ node, remotes }, { query, list_tools: listTools, port, limit }) {
    const tags = queryTags(query);
    if (tags.length === 0) throw new ToolFailure('invalid_argument', `"${query}" holds no usable tag`);
    const as = await node.searcher();
    const { results } = await node.withRegistry((client) =>
      client.find({ tags, limit: 100, ...(as === undefined ? {} : { as }) }),
    );
    const self = as?.nodeId;
    const servers = results
      .filter((hit) => hit.tags.includes('mcp') && hit.nodeId !== self)
      .slice(0, limit ?? MAX_DISCOVERED);
    const trusted = new Set(
      (await (await node.control()).trusted({ timeoutMs: 15_000 })).map((t) => t.node_id),
    );
    const words = tags.map((tag) => tag.replace(/[-_.*]/g, ''));
    const rows = await Promise.all(
      servers.map(async (hit) => {
        const address = { network: 0, node: hit.nodeId };
        const isTrusted = trusted.has(hit.nodeId);
        const row: Record<string, unknown> = {
          node_id: hit.nodeId,
          address: hit.address,
          hostname: hit.hostname ?? '',
          public: hit.public,
          score: hit.score,
          tags: [...hit.tags],
          trusted: isTrusted,
          how_to_call: isTrusted
            ? `pilot_call_remote_tool {"peer":"${hit.address}","tool":"<name>","arguments":{…}}`
            : `not trusted yet: pilot_handshake {"peer":"${hit.address}","justification":"…"}, then wait for its operator to approve`,
        };
        if (isTrusted && listTools !== false) {
          try {
            const tools = await remotes.listTools(address, port ?? DEFAULT_MCP_PORT, LIST_TIMEOUT_MS);
            row.tools = tools.slice(0, MAX_REMOTE_TOOLS).map((tool) => {
              const description = cut(tool.description);
              const text = `${tool.name} ${description ?? ''}`.toLowerCase().replace(/[-_.]/g, '');
              return {
                name: tool.name.slice(0, 128),
                ...(description === undefined ? {} : { description }),
                ...(schemaFits(tool.inputSchema) ? { input_schema: tool.inputSchema } : {}),
                matches: words.some((word) => word !== '' && text.includes(word)),
              };
            });
            if (tools.length > MAX_REMOTE_TOOLS) row.tools_omitted = tools.length - MAX_REMOTE_TOOLS;
          } catch (error) {
            row.error = failureJson(toToolFailure(error));
          }
        }
        return row;
      }),
    );
    return { servers: rows, count: rows.length };
  },
};

const call: PilotTool<{
  peer: string;
  tool: string;
  arguments?: Record<string, unknown>;
  port?: number;
  timeout_s?: number;
}> = {
  name: 'pilot_call_remote_tool',
  title: 'Call a tool on a remote MCP server',
  description:
    "Call a tool of an MCP server on another Pilot node, through this node's daemon (encrypted tunnel, NAT traversal). Returns exactly what the remote tool returns. The peer must be trusted: otherwise the result is a not_trusted error saying how to ask for trust (pilot_handshake).",
  inputSchema: object(
    {
      peer: PEER,
      tool: string('the remote tool name', { minLength: 1, maxLength: 128 }),
      arguments: { type: 'object', description: 'the remote tool arguments (its input schema)' },
      port: PORT,
      timeout_s: integer('give up after this many seconds (default 60)', 1, 600),
    },
    ['peer', 'tool'],
  ),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  passthrough: true,
  async run(
    { node, remotes, signal },
    { peer, tool, arguments: args, port, timeout_s: timeout },
  ): Promise<CallToolResult> {
    checkSize('the arguments', Buffer.byteLength(JSON.stringify(args ?? {})), node.limits.maxPayloadBytes);
    const address = await node.resolve(peer);
    await remotes.requireTrust(address);
    return remotes.callTool(
      address,
      port ?? DEFAULT_MCP_PORT,
      tool,
      args ?? {},
      (timeout ?? 60) * 1000,
      signal,
    );
  },
};

const mount: PilotTool<{ peer: string; prefix?: string; port?: number }> = {
  name: 'pilot_mount',
  title: "Mount a remote server's tools",
  description:
    "Re-export every tool of a trusted peer's MCP server as this server's own, named <prefix>__<tool> (the tool list changes; clients are notified). Calls go over Pilot like pilot_call_remote_tool.",
  inputSchema: object(
    {
      peer: PEER,
      prefix: string('name prefix (default: the peer hostname, else "n<node ID>")', {
        pattern: '^[a-zA-Z0-9-]{1,32}$',
      }),
      port: PORT,
    },
    ['peer'],
  ),
  outputSchema: object(
    {
      prefix: string('the prefix'),
      address: string("the peer's address"),
      tools: array(string('mounted tool name')),
    },
    ['prefix', 'address', 'tools'],
  ),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async run({ node, remotes, mounts }, { peer, prefix, port }) {
    const address = await node.resolve(peer);
    await remotes.requireTrust(address);
    const p = port ?? DEFAULT_MCP_PORT;
    const tools = (await remotes.listTools(address, p, LIST_TIMEOUT_MS))
      .filter(
        (tool) => TOOL_NAME.test(tool.name) && schemaFits(tool.inputSchema) && schemaFits(tool.outputSchema),
      )
      .slice(0, MAX_REMOTE_TOOLS)
      .map((tool) => {
        const description = cut(tool.description);
        return { ...tool, ...(description === undefined ? {} : { description }) };
      });
    let name = prefix;
    if (name === undefined) {
      const host = /^[a-z0-9-]{1,32}$/.test(peer) && !/^\d+$/.test(peer) ? peer : undefined;
      name = host ?? `n${address.node}`;
    }
    mounts.add({ prefix: name, address, port: p, tools });
    return { prefix: name, address: formatAddress(address), tools: tools.map((t) => `${name}__${t.name}`) };
  },
};

const unmount: PilotTool<{ prefix: string }> = {
  name: 'pilot_unmount',
  title: 'Unmount a remote server',
  description: 'Remove the tools pilot_mount added under a prefix.',
  inputSchema: object({ prefix: string('the prefix', { minLength: 1 }) }, ['prefix']),
  outputSchema: object({ prefix: string('the prefix'), removed: integer('tools removed') }, [
    'prefix',
    'removed',
  ]),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run({ mounts }, { prefix }) {
    const removed = mounts.remove(prefix);
    return { prefix, removed: removed.tools.length };
  },
};

export const remoteTools: readonly PilotTool[] = [
  discover as PilotTool,
  call as PilotTool,
  mount as PilotTool,
  unmount as PilotTool,
];
