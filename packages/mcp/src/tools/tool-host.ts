import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  ListResourcesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
  type Tool,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import type { JsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/types.js';
import { dataTools } from './data-tools.js';
import { eventTools } from './event-tools.js';
import { nodeTools } from './node-tools.js';
import { PilotNode, type PilotNodeOptions } from './pilot-node.js';
import { Mounts, RemoteSessions } from './remote-sessions.js';
import { remoteTools } from './remote-tools.js';
import { SUBSCRIPTION_URI_PREFIX, Subscriptions } from './subscriptions.js';
import type { PilotTool, ToolContext } from './tool-definition.js';
import { failureJson, ToolFailure, toToolFailure } from './tool-error.js';
import { trustTools } from './trust-tools.js';

/** What the tool server announces about itself. */
export const TOOL_SERVER_INFO = { name: 'pilot', version: '0.1.0' } as const;

export interface ToolHostOptions extends PilotNodeOptions {
  /** Offer only the tools whose annotations say they change nothing (readOnlyHint). */
  readonly readOnly?: boolean;
}

/** Every tool of the server, in the order tools/list gives them. */
export const PILOT_TOOLS: readonly PilotTool[] = [
  ...nodeTools,
  ...trustTools,
  ...dataTools,
  ...eventTools,
  ...remoteTools,
];

const INSTRUCTIONS = `Tools of this agent's Pilot Protocol node: a permanent address, encrypted peer-to-peer tunnels through NATs, and mutual trust between agents.
- Find capabilities on the network with pilot_discover_tools (MCP servers) or pilot_search (any node by tag); call a remote MCP tool with pilot_call_remote_tool.
- Private nodes answer only nodes they trust: a not_trusted error means pilot_handshake first, then the peer's operator approves.
- Every error is a tool result whose text is JSON: {"error": code, "message", "hint", "pilot_code"}.`;

function errorResult(error: unknown): CallToolResult {
  const failure = toToolFailure(error);
  return { content: [{ type: 'text', text: JSON.stringify(failureJson(failure)) }], isError: true };
}

/**
 * The Pilot tool server's state, shared by its MCP sessions (one over stdio, or one per HTTP
 * session): the daemon connection, subscriptions, warm remote sessions and mounts. `createServer`
 * gives an SDK Server for one session.
 */
export class PilotToolHost {
  readonly node: PilotNode;
  readonly readOnly: boolean;
  readonly subscriptions: Subscriptions;
  readonly remotes: RemoteSessions;
  readonly mounts: Mounts;
  readonly #sessions = new Map<Server, Set<string>>();
  readonly #validators = new Map<string, JsonSchemaValidator<unknown>>();
  readonly #ajv = new AjvJsonSchemaValidator();
  readonly #tools: readonly PilotTool[];

  constructor(options: ToolHostOptions = {}) {
    this.node = new PilotNode(options);
    this.readOnly = options.readOnly === true;
    this.#tools = PILOT_TOOLS.filter((tool) => !this.readOnly || tool.annotations.readOnlyHint === true);
    this.subscriptions = new Subscriptions(this.node, (uri) => this.#subscriptionChanged(uri));
    this.remotes = new RemoteSessions(this.node);
    this.mounts = new Mounts(() => {
      for (const server of this.#sessions.keys()) server.sendToolListChanged().catch(() => undefined);
    });
  }

  /** The tools this host offers (read-only ones only with readOnly). */
  get tools(): readonly PilotTool[] {
    return this.#tools;
  }

  /** The tools/list entries: ours, then the mounted ones. */
  listTools(): Tool[] {
    const own: Tool[] = this.#tools.map((tool) => ({
      name: tool.name,
      title: tool.title,
      description: tool.description,
      inputSchema: tool.inputSchema as Tool['inputSchema'],
      ...(tool.outputSchema === undefined ? {} : { outputSchema: tool.outputSchema as Tool['outputSchema'] }),
      annotations: { title: tool.title, ...tool.annotations },
    }));
    if (this.readOnly) return own;
    for (const mount of this.mounts.list())
      for (const tool of mount.tools)
        own.push({
          name: `${mount.prefix}__${tool.name}`,
          description: `[mounted over Pilot from ${mount.prefix}] ${tool.description ?? ''}`.trim(),
          inputSchema: tool.inputSchema,
          ...(tool.outputSchema === undefined ? {} : { outputSchema: tool.outputSchema }),
          // A remote tool reaches another machine, whatever its server claims.
          annotations: { ...tool.annotations, openWorldHint: true },
        });
    return own;
  }

  /** Runs a tool call: every failure is a result with isError, never a protocol error. */
  async callTool(
    name: string,
    args: Record<string, unknown> | undefined,
    signal: AbortSignal,
  ): Promise<CallToolResult> {
    const context: ToolContext = {
      node: this.node,
      subscriptions: this.subscriptions,
      remotes: this.remotes,
      mounts: this.mounts,
      signal,
    };
    try {
      const tool = this.#tools.find((t) => t.name === name);
      if (tool === undefined) {
        const mounted = this.readOnly ? undefined : this.mounts.resolve(name);
        if (mounted !== undefined)
          return await this.remotes.callTool(
            mounted.mount.address,
            mounted.mount.port,
            mounted.tool,
            args ?? {},
            60_000,
            signal,
          );
        const offered = PILOT_TOOLS.some((t) => t.name === name);
        throw offered && this.readOnly
          ? new ToolFailure('read_only', `${name} changes things; this tool server runs with --read-only`)
          : new ToolFailure('invalid_argument', `no tool "${name}"`, { hint: 'tools/list gives the tools' });
      }
      const input = args ?? {};
      const checked = this.#validator(tool)(input);
      if (!checked.valid) throw new ToolFailure('invalid_argument', `${name}: ${checked.errorMessage}`);
      const output = await tool.run(context, input);
      if (tool.passthrough === true) return output as CallToolResult;
      return { content: [{ type: 'text', text: JSON.stringify(output) }], structuredContent: output };
    } catch (error) {
      return errorResult(error);
    }
  }

  /** An SDK Server for one MCP session, wired to this host. */
  createServer(): Server {
    const server = new Server(TOOL_SERVER_INFO, {
      capabilities: { tools: { listChanged: true }, resources: { subscribe: true, listChanged: true } },
      instructions: INSTRUCTIONS,
    });
    const subscribed = new Set<string>();
    this.#sessions.set(server, subscribed);
    server.onclose = () => {
      this.#sessions.delete(server);
    };
    server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: this.listTools() }));
    server.setRequestHandler(CallToolRequestSchema, (request, extra) =>
      this.callTool(request.params.name, request.params.arguments, extra.signal),
    );
    server.setRequestHandler(ListResourcesRequestSchema, () => ({
      resources: this.subscriptions.list().map((s) => ({
        uri: s.uri,
        name: `events ${s.topic} from ${s.address}`,
        description: `events of topic "${s.topic}" from ${s.peer} (${s.state}, ${s.received} received)`,
        mimeType: 'application/json',
      })),
    }));
    server.setRequestHandler(ReadResourceRequestSchema, (request) => {
      const { uri } = request.params;
      try {
        const read = this.subscriptions.read(uri);
        return { contents: [{ uri, mimeType: 'application/json', text: JSON.stringify(read) }] };
      } catch (error) {
        throw new Error(toToolFailure(error).message);
      }
    });
    server.setRequestHandler(SubscribeRequestSchema, (request) => {
      if (request.params.uri.startsWith(SUBSCRIPTION_URI_PREFIX)) subscribed.add(request.params.uri);
      return {};
    });
    server.setRequestHandler(UnsubscribeRequestSchema, (request) => {
      subscribed.delete(request.params.uri);
      return {};
    });
    return server;
  }

  async close(): Promise<void> {
    for (const server of [...this.#sessions.keys()]) await server.close().catch(() => undefined);
    this.#sessions.clear();
    await this.subscriptions.close();
    await this.remotes.close();
    await this.node.close();
  }

  #validator(tool: PilotTool): JsonSchemaValidator<unknown> {
    let validator = this.#validators.get(tool.name);
    if (validator === undefined) {
      validator = this.#ajv.getValidator(tool.inputSchema as never);
      this.#validators.set(tool.name, validator);
    }
    return validator;
  }

  #subscriptionChanged(uri: string | undefined): void {
    for (const [server, subscribed] of this.#sessions) {
      if (uri === undefined) server.sendResourceListChanged().catch(() => undefined);
      else if (subscribed.has(uri)) server.sendResourceUpdated({ uri }).catch(() => undefined);
    }
  }
}
