import type { Duplex } from 'node:stream';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UdpTransport } from '@pilot/transport/node';
import { formatAddress, isPilotError } from '@pilot/wire';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  connectMcp,
  DEFAULT_MCP_PORT,
  McpErrorCode,
  type McpLog,
  type McpServeHandle,
  serveMcp,
  transportStreams,
} from '../src/index.js';
import { forecast, payload } from './fixtures/weather-server.mjs';
import { connectClient, isAlive, stdioPair, textOf, WEATHER_SERVER, waitFor } from './helpers/mcp.js';

const A = { network: 0, node: 0xa };
const B = { network: 0, node: 0xb };
const B_TEXT = formatAddress(B);

let alice: UdpTransport;
let bob: UdpTransport;

beforeAll(async () => {
  alice = await UdpTransport.create({ host: '127.0.0.1', port: 0, localAddress: A });
  bob = await UdpTransport.create({ host: '127.0.0.1', port: 0, localAddress: B });
  alice.addPeer(B, bob.udpAddress);
  bob.addPeer(A, alice.udpAddress);
});

afterAll(async () => {
  await alice.close();
  await bob.close();
});

interface Session {
  client: Client;
  done: Promise<void>;
}

describe('serveMcp + connectMcp over Pilot streams (UdpTransport on loopback)', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  const logs: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
  const log: McpLog = (level, message, fields) =>
    logs.push({ level, message, ...(fields ? { fields } : {}) });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    logs.length = 0;
  });

  async function serve(
    options: { shared?: boolean; command?: string; port?: number } = {},
  ): Promise<McpServeHandle> {
    const handle = await serveMcp({
      listener: transportStreams(bob),
      port: options.port ?? DEFAULT_MCP_PORT,
      command: options.command ?? process.execPath,
      args: options.command === undefined ? [WEATHER_SERVER] : [],
      shared: options.shared ?? false,
      log,
    });
    cleanups.push(() => handle.close());
    return handle;
  }

  async function connect(port = DEFAULT_MCP_PORT): Promise<Session> {
    const { input, output, clientSide } = stdioPair();
    const done = connectMcp({ dialer: transportStreams(alice), address: B_TEXT, port, input, output });
    done.catch(() => undefined); // awaited (and checked) by the tests that care
    const client = await connectClient(clientSide);
    const session = { client, done };
    cleanups.push(async () => {
      await client.close();
      await done;
    });
    return session;
  }

  async function pidOf(client: Client): Promise<number> {
    const info = JSON.parse(textOf(await client.callTool({ name: 'server_info', arguments: {} }))) as {
      pid: number;
    };
    return info.pid;
  }

  it('lists tools and calls them; results match the server', async () => {
    await serve();
    const { client } = await connect();
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual([
      'fetch_data',
      'get_alerts',
      'get_forecast',
      'server_info',
    ]);
    const result = await client.callTool({ name: 'get_forecast', arguments: { city: 'Oslo', days: 7 } });
    expect(JSON.parse(textOf(result))).toEqual({ city: 'Oslo', days: forecast('Oslo', 7) });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, seed) =>
        client.callTool({ name: 'fetch_data', arguments: { bytes: 65536, seed } }),
      ),
    );
    for (const [seed, result] of results.entries()) expect(textOf(result)).toBe(payload(65536, seed));
    // The server's stderr reaches the log callback.
    await waitFor(() => logs.some((entry) => String(entry.fields?.line).includes('weather server ready')));
  });

  it('runs one process per session and kills it when the session ends', async () => {
    const handle = await serve();
    const first = await connect();
    const second = await connect();
    const [pid1, pid2] = await Promise.all([pidOf(first.client), pidOf(second.client)]);
    expect(pid1).not.toBe(pid2);
    expect(handle.sessions).toBe(2);
    await first.client.close();
    await first.done;
    await waitFor(() => !isAlive(pid1), 15_000, 'the first server to exit');
    expect(isAlive(pid2)).toBe(true);
    await waitFor(() => handle.sessions === 1, 15_000, 'the session count to drop');
    // close() kills what is still running and ends the remaining session.
    await handle.close();
    await second.done;
    await waitFor(() => !isAlive(pid2), 15_000, 'the second server to exit');
  });

  it('shares one process between sessions when asked, each session seeing only its own answers', async () => {
    const handle = await serve({ shared: true });
    const sessions = await Promise.all([connect(), connect(), connect()]);
    const pids = await Promise.all(sessions.map(({ client }) => pidOf(client)));
    expect(new Set(pids).size).toBe(1);
    const calls = sessions.flatMap(({ client }, index) =>
      Array.from({ length: 10 }, (_, i) =>
        client
          .callTool({ name: 'fetch_data', arguments: { bytes: 2048, seed: index * 100 + i } })
          .then((result) => expect(textOf(result)).toBe(payload(2048, index * 100 + i))),
      ),
    );
    await Promise.all(calls);
    const [first, ...rest] = sessions;
    if (first === undefined) throw new Error('no session');
    await first.client.close();
    await first.done;
    for (const { client } of rest) expect((await client.listTools()).tools.length).toBe(4);
    expect(isAlive(pids[0] ?? 0)).toBe(true);
    await handle.close();
    await waitFor(() => !isAlive(pids[0] ?? 0), 15_000, 'the shared server to exit');
  });

  it('rejects with MCP_CONNECT_FAILED when nothing listens on the port', async () => {
    const { input, output } = stdioPair();
    const error = await connectMcp({
      dialer: transportStreams(alice),
      address: B_TEXT,
      port: 4444,
      input,
      output,
    }).catch((e: unknown) => e);
    expect(isPilotError(error, McpErrorCode.CONNECT_FAILED)).toBe(true);
  });

  it('ends the session and logs MCP_SPAWN_FAILED when the command cannot start', async () => {
    await serve({ command: '/nonexistent/mcp-server' });
    const { input, output } = stdioPair();
    const done = connectMcp({ dialer: transportStreams(alice), address: B_TEXT, input, output });
    input.end('{"jsonrpc":"2.0","id":1,"method":"ping"}\n');
    await done.catch(() => undefined);
    await waitFor(() => logs.some((entry) => entry.fields?.code === McpErrorCode.SPAWN_FAILED));
  });

  it('survives garbage from a client: the session ends, the server keeps serving others', async () => {
    const handle = await serve({ shared: true });
    const good = await connect();
    const raw: Duplex = await transportStreams(alice).dial(B_TEXT, DEFAULT_MCP_PORT);
    const received: Buffer[] = [];
    raw.on('data', (chunk: Buffer) => received.push(chunk));
    raw.write('garbage that is not json\n\u0000\u0001\n{"jsonrpc":"2.0","id":5,"method":"tools/list"}\n');
    await waitFor(
      () => Buffer.concat(received).toString().includes('"id":5'),
      15_000,
      'the tools/list answer',
    );
    expect(Buffer.concat(received).toString()).toContain('Parse error');
    raw.end();
    await waitFor(() => raw.destroyed || raw.readableEnded, 15_000, 'the raw session to end');
    raw.destroy();
    expect((await good.client.listTools()).tools.length).toBe(4);
    expect(handle.accepted).toBe(2);
  });

  it('rejects bad arguments', async () => {
    await expect(serveMcp({ listener: transportStreams(bob), port: 0, command: 'x' })).rejects.toMatchObject({
      code: McpErrorCode.INVALID_ARGUMENT,
    });
    await expect(serveMcp({ listener: transportStreams(bob), port: 1, command: '' })).rejects.toMatchObject({
      code: McpErrorCode.INVALID_ARGUMENT,
    });
  });
});
