import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Driver } from '@pilot/daemon/driver';
import { type Address, formatAddress } from '@pilot/wire';
import { DuplexTransport } from '../duplex-transport.js';
import type { PilotNode } from './pilot-node.js';
import { ToolFailure, toToolFailure } from './tool-error.js';

/** The version this package announces to remote servers. */
const CLIENT_INFO = { name: 'pilot-mcp', version: '0.1.0' } as const;

interface Session {
  readonly client: Client;
  readonly driver: Driver;
}

/**
 * MCP sessions to remote servers over Pilot streams, kept warm per peer and port (a call after the
 * first costs one round trip), each on a driver of its own; a broken session is dropped and redone.
 */
export class RemoteSessions {
  readonly #node: PilotNode;
  readonly #sessions = new Map<string, Promise<Session>>();

  constructor(node: PilotNode) {
    this.#node = node;
  }

  /**
   * Trust rules for calls: this node calls tools only on peers it trusts (a remote tool's output
   * goes into the agent's context, so trusting the peer is the user's decision); a private peer
   * that does not trust us is refused by its registry entry (not_trusted) before any dial.
   */
  async requireTrust(address: Address): Promise<void> {
    if (!(await this.#node.trusts(address.node)))
      throw new ToolFailure(
        'not_trusted',
        `this node does not trust ${formatAddress(address)}: remote tools are called only on trusted peers`,
        {
          hint: `ask for trust with pilot_handshake {"peer":"${formatAddress(address)}","justification":"…"}; when the peer's operator approves (pilot_approve on their side), retry`,
        },
      );
  }

  async listTools(address: Address, port: number, timeoutMs: number): Promise<Tool[]> {
    return this.#use(address, port, timeoutMs, async (client) => {
      const tools: Tool[] = [];
      let cursor: string | undefined;
      do {
        const page = await client.listTools(cursor === undefined ? {} : { cursor }, { timeout: timeoutMs });
        tools.push(...page.tools);
        cursor = page.nextCursor;
      } while (cursor !== undefined && tools.length < 1000);
      return tools;
    });
  }

  async callTool(
    address: Address,
    port: number,
    name: string,
    args: Record<string, unknown>,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<CallToolResult> {
    return this.#use(address, port, timeoutMs, async (client) => {
      const result = await client.callTool({ name, arguments: args }, undefined, {
        timeout: timeoutMs,
        ...(signal === undefined ? {} : { signal }),
      });
      return result as CallToolResult;
    });
  }

  async close(): Promise<void> {
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    for (const pending of sessions) {
      const session = await pending.catch(() => undefined);
      if (session === undefined) continue;
      await session.client.close().catch(() => undefined);
      await this.#node.closeDriver(session.driver);
    }
  }

  /** Runs `use` on the session, opening it first; a session that broke is redone once. */
  async #use<T>(
    address: Address,
    port: number,
    timeoutMs: number,
    use: (client: Client) => Promise<T>,
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const session = await this.#session(address, port, timeoutMs);
      try {
        return await use(session.client);
      } catch (error) {
        const closed = (session.client.transport as DuplexTransport | undefined)?.isClosed !== false;
        if (closed) this.#sessions.delete(key(address, port));
        if (closed && attempt === 0) continue;
        throw remoteFailure(error);
      }
    }
  }

  #session(address: Address, port: number, timeoutMs: number): Promise<Session> {
    const k = key(address, port);
    const existing = this.#sessions.get(k);
    if (existing !== undefined) return existing;
    const opening = (async () => {
      const driver = await this.#node.openDriver();
      try {
        const stream = await driver.dial(address, port, { timeoutMs: this.#node.limits.dialTimeoutMs });
        const client = new Client(CLIENT_INFO);
        const transport = new DuplexTransport(stream, { lingerMs: 0 });
        client.onclose = () => {
          if (this.#sessions.get(k) === opening) this.#sessions.delete(k);
          void this.#node.closeDriver(driver);
        };
        await client.connect(transport, { timeout: timeoutMs });
        return { client, driver };
      } catch (error) {
        await this.#node.closeDriver(driver);
        throw error;
      }
    })();
    this.#sessions.set(k, opening);
    opening.catch(() => {
      if (this.#sessions.get(k) === opening) this.#sessions.delete(k);
    });
    return opening;
  }
}

function key(address: Address, port: number): string {
  return `${formatAddress(address)}:${port}`;
}

/** A remote failure as a ToolFailure: the dial's own code, or MCP's. */
function remoteFailure(error: unknown): ToolFailure {
  const failure = toToolFailure(error);
  if (failure.code !== 'internal') return failure;
  const code = (error as { code?: unknown }).code;
  // The SDK's McpError: -32001 is its request timeout.
  if (code === -32001)
    return new ToolFailure('timeout', failure.message, { pilotCode: 'MCP_REQUEST_TIMEOUT' });
  if (typeof code === 'number')
    return new ToolFailure(
      'connection_failed',
      `the remote server answered with an error: ${failure.message}`,
      {
        pilotCode: `MCP_JSONRPC_${code}`,
        hint: 'check the tool name and arguments against pilot_discover_tools',
      },
    );
  return failure;
}

/** A remote server's tools re-exported under a prefix (`pilot_mount`). */
export interface Mount {
  readonly prefix: string;
  readonly address: Address;
  readonly port: number;
  readonly tools: readonly Tool[];
}

/** The mounted servers; `onChange` tells sessions their tool list changed. */
export class Mounts {
  readonly #all = new Map<string, Mount>();
  readonly #onChange: () => void;

  constructor(onChange: () => void) {
    this.#onChange = onChange;
  }

  add(mount: Mount): void {
    this.#all.set(mount.prefix, mount);
    this.#onChange();
  }

  remove(prefix: string): Mount {
    const mount = this.#all.get(prefix);
    if (mount === undefined) throw new ToolFailure('not_found', `nothing is mounted under "${prefix}"`);
    this.#all.delete(prefix);
    this.#onChange();
    return mount;
  }

  list(): Mount[] {
    return [...this.#all.values()];
  }

  /** The mount and remote tool name behind a mounted tool name (`<prefix>__<tool>`). */
  resolve(name: string): { mount: Mount; tool: string } | undefined {
    const at = name.indexOf('__');
    if (at <= 0) return undefined;
    const mount = this.#all.get(name.slice(0, at));
    const tool = name.slice(at + 2);
    if (mount === undefined || !mount.tools.some((t) => t.name === tool)) return undefined;
    return { mount, tool };
  }
}
