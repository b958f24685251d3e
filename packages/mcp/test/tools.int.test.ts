import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  type CallToolResult,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { type Daemon, type DaemonOptions, loadOrCreateIdentity, startDaemon } from '@pilot/daemon';
import { Driver } from '@pilot/daemon/driver';
import { createSigner, DirectoryClient, signerFromIdentity } from '@pilot/directory/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MCP_PORT, type McpServeHandle, mcpToolTags, serveMcp } from '../src/index.js';
import { WEATHER_SERVER, waitFor } from './helpers/mcp.js';

// The Pilot tool server (the pilot-mcp program) driven by the official SDK client, over stdio for
// alpha's agent and over Streamable HTTP for beta's, against two real daemons and the real
// pilot-rendezvous program (registry over TLS, pinned, + beacon): every tool, and an agent finding
// a weather tool by capability, asking for trust, and calling it remotely.
const RENDEZVOUS = fileURLToPath(new URL('../../../apps/rendezvous/dist/main.js', import.meta.url));
const BIN = fileURLToPath(new URL('../dist/tools/bin.js', import.meta.url));
const INSPECTOR = fileURLToPath(
  new URL('../node_modules/@modelcontextprotocol/inspector-cli/build/index.js', import.meta.url),
);
const HOSTILE_SERVER = fileURLToPath(new URL('./fixtures/hostile-server.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'pilot-mcp-tools-'));
let rendezvous: ChildProcess;
let registryAddr: string;
let beaconAddr: string;
let fingerprint: string;
let alpha: Daemon;
let beta: Daemon;
let betaDriver: Driver;
let weather: McpServeHandle;
let hostile: McpServeHandle;
let alphaAgent: Client;
let betaAgent: Client;
let betaServer: ChildProcess;
let betaUrl: string;
let localWeather: Client;

function options(name: string, extra: Partial<DaemonOptions> = {}): DaemonOptions {
  return {
    home: join(dir, name),
    registry: registryAddr,
    registryFingerprint: fingerprint,
    beacon: beaconAddr,
    listen: '127.0.0.1:0',
    socket: join(dir, `${name}.sock`),
    hostname: `tools-${name}`,
    handshakePoll: 200,
    heartbeat: 2000,
    logLevel: 'error',
    ...extra,
  };
}

function childEnv(): NodeJS.ProcessEnv {
  const { NODE_CHANNEL_FD: _fd, NODE_CHANNEL_SERIALIZATION_MODE: _mode, ...env } = process.env;
  return env;
}

async function stdioAgent(args: readonly string[]): Promise<Client> {
  const client = new Client({ name: 'test-agent', version: '1.0.0' });
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [BIN, ...args],
      env: childEnv() as Record<string, string>,
      stderr: 'ignore',
    }),
  );
  return client;
}

async function call(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

/** A tool's structured output (and the same JSON as its text), failing on an error result. */
async function ok(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  const result = await call(client, name, args);
  const text = result.content[0]?.type === 'text' ? result.content[0].text : '';
  expect(result.isError, `${name}: ${text}`).not.toBe(true);
  expect(JSON.parse(text)).toEqual(result.structuredContent);
  return result.structuredContent as Record<string, unknown>;
}

/** An error result's JSON ({error, message, hint, pilot_code?}). */
async function fails(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
): Promise<Record<string, string>> {
  const result = await call(client, name, args);
  expect(result.isError, JSON.stringify(result)).toBe(true);
  expect(result.structuredContent).toBeUndefined();
  const first = result.content[0];
  return JSON.parse(first?.type === 'text' ? first.text : '{}') as Record<string, string>;
}

function run(
  command: string,
  args: readonly string[],
  cwd: string,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  rendezvous = spawn(
    process.execPath,
    [
      RENDEZVOUS,
      '--registry-addr',
      '127.0.0.1:0',
      '--beacon-addr',
      '127.0.0.1:0',
      '--store',
      join(dir, 'registry.db'),
      '--log-format',
      'json',
    ],
    { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const announced = await new Promise<Record<string, string>>((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk;
      for (const line of text.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const entry = JSON.parse(line) as Record<string, string>;
          if (typeof entry.registry === 'string') resolve(entry);
        } catch {
          // A line not complete yet.
        }
      }
    };
    rendezvous.stdout?.on('data', onData);
    rendezvous.stderr?.on('data', onData);
    rendezvous.once('exit', () => reject(new Error(`pilot-rendezvous exited: ${text}`)));
  });
  registryAddr = String(announced.registry);
  beaconAddr = String(announced.beacon);
  fingerprint = String(announced.fingerprint);
  expect(announced.tls).toBe(true);
  // Beta is public: anyone may find its weather server by capability; alpha's agent still calls
  // remote tools only on peers alpha trusts.
  [alpha, beta] = await Promise.all([
    startDaemon(options('alpha')),
    startDaemon(options('beta', { public: true })),
  ]);
  betaDriver = await Driver.connect(beta.socket);
  weather = await serveMcp({
    listener: betaDriver,
    port: DEFAULT_MCP_PORT,
    command: process.execPath,
    args: [WEATHER_SERVER],
  });
  hostile = await serveMcp({
    listener: betaDriver,
    port: 1011,
    command: process.execPath,
    args: [HOSTILE_SERVER],
  });
  await betaDriver.setTags(
    mcpToolTags(['get_forecast', 'get_alerts', 'fetch_data', 'server_info'], { leading: ['mcp', 'weather'] }),
  );
  alphaAgent = await stdioAgent(['--socket', alpha.socket, '--max-payload', '65536']);
  // Beta's agent talks Streamable HTTP to a tool server bound on a port the OS picks.
  betaServer = spawn(process.execPath, [BIN, '--socket', beta.socket, '--http', '127.0.0.1:0'], {
    env: childEnv(),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  betaUrl = await new Promise<string>((resolve, reject) => {
    let text = '';
    betaServer.stderr?.on('data', (chunk: Buffer) => {
      text += chunk;
      const match = /at (http:\/\/\S+\/mcp)/.exec(text);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    betaServer.once('exit', () => reject(new Error(`pilot-mcp --http exited: ${text}`)));
  });
  betaAgent = new Client({ name: 'beta-agent', version: '1.0.0' });
  await betaAgent.connect(new StreamableHTTPClientTransport(new URL(betaUrl)));
  localWeather = new Client({ name: 'local', version: '1.0.0' });
  await localWeather.connect(
    new StdioClientTransport({ command: process.execPath, args: [WEATHER_SERVER], stderr: 'ignore' }),
  );
}, 60_000);

afterAll(async () => {
  await alphaAgent?.close();
  await betaAgent?.close();
  await localWeather?.close();
  if (betaServer !== undefined && betaServer.exitCode === null) {
    const exited = new Promise((resolve) => betaServer.once('exit', resolve));
    betaServer.kill('SIGTERM');
    await exited;
  }
  await weather?.close();
  await hostile?.close();
  await betaDriver?.close();
  await alpha?.close();
  await beta?.close();
  if (rendezvous !== undefined && rendezvous.exitCode === null) {
    const exited = new Promise((resolve) => rendezvous.once('exit', resolve));
    rendezvous.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('pilot-mcp tool server', () => {
  it('lists its tools with JSON Schemas, output schemas and annotations, over stdio and HTTP alike', async () => {
    const { tools } = await alphaAgent.listTools();
    const names = tools.map((t) => t.name);
    expect(names).toEqual((await betaAgent.listTools()).tools.map((t) => t.name));
    for (const name of [
      'pilot_info',
      'pilot_discover_tools',
      'pilot_call_remote_tool',
      'pilot_subscribe',
      'pilot_mount',
    ])
      expect(names).toContain(name);
    expect(names.length).toBe(24);
    for (const tool of tools) {
      expect(tool.inputSchema.type).toBe('object');
      expect(typeof tool.annotations?.readOnlyHint).toBe('boolean');
      expect(typeof tool.annotations?.openWorldHint).toBe('boolean');
    }
    const byName = new Map(tools.map((t) => [t.name, t]));
    expect(byName.get('pilot_approve')?.annotations).toMatchObject({
      readOnlyHint: false,
      destructiveHint: true,
    });
    expect(byName.get('pilot_send_file')?.annotations).toMatchObject({
      readOnlyHint: false,
      openWorldHint: true,
    });
    expect(byName.get('pilot_info')?.annotations).toMatchObject({
      readOnlyHint: true,
      destructiveHint: false,
    });
  });

  it('node tools: info, find, lookup, search, peers', async () => {
    const info = await ok(alphaAgent, 'pilot_info');
    expect(info).toMatchObject({
      address: alpha.address,
      node_id: alpha.nodeId,
      hostname: 'tools-alpha',
      public: false,
    });
    expect(await ok(betaAgent, 'pilot_info')).toMatchObject({ node_id: beta.nodeId, public: true });
    expect(await ok(alphaAgent, 'pilot_find', { hostname: 'tools-beta' })).toEqual({
      address: beta.address,
      node_id: beta.nodeId,
      hostname: 'tools-beta',
      public: true,
    });
    const looked = await ok(alphaAgent, 'pilot_lookup', { node: 'tools-beta' });
    expect(looked).toMatchObject({ node_id: beta.nodeId, hostname: 'tools-beta', public: true });
    expect(looked.tags).toEqual([
      'mcp',
      'weather',
      'get-forecast',
      'get-alerts',
      'fetch-data',
      'server-info',
    ]);
    // Ranked: beta carries both tags of the query.
    const found = await ok(alphaAgent, 'pilot_search', { query: 'weather get_forecast' });
    expect(found.results).toEqual([expect.objectContaining({ node_id: beta.nodeId, score: 2 })]);
    // Alpha is private: beta's search does not show it.
    await ok(alphaAgent, 'pilot_send_message', { peer: 'tools-beta', message: 'warm-up' }).catch(
      () => undefined,
    );
    const peers = await ok(alphaAgent, 'pilot_peers');
    expect(peers.peers).toEqual([
      expect.objectContaining({ node_id: beta.nodeId, path: 'direct', trusted: false }),
    ]);
    // Bad input is an error result with a code, not a protocol error.
    expect((await fails(alphaAgent, 'pilot_find', { hostname: 'no-such-host' })).error).toBe('not_found');
    expect((await fails(alphaAgent, 'pilot_find', {})).error).toBe('invalid_argument');
    expect((await fails(alphaAgent, 'pilot_nope')).error).toBe('invalid_argument');
  });

  it('an agent finds a tool by capability, asks for trust, the other agent approves, and calls it remotely', async () => {
    const before = await ok(alphaAgent, 'pilot_discover_tools', { query: 'get_forecast' });
    expect(before.servers).toEqual([
      expect.objectContaining({ node_id: beta.nodeId, hostname: 'tools-beta', trusted: false }),
    ]);
    const refused = await fails(alphaAgent, 'pilot_call_remote_tool', {
      peer: 'tools-beta',
      tool: 'get_forecast',
      arguments: { city: 'Nairobi', days: 3 },
    });
    expect(refused.error).toBe('not_trusted');
    expect(refused.hint).toContain('pilot_handshake');

    expect(
      await ok(alphaAgent, 'pilot_handshake', { peer: 'tools-beta', justification: 'weather for my user' }),
    ).toMatchObject({
      node_id: beta.nodeId,
    });
    const pending = await waitForTool(betaAgent, 'pilot_pending', (out) => (out.count as number) > 0);
    expect(pending.pending).toEqual([
      { node_id: alpha.nodeId, address: alpha.address, justification: 'weather for my user' },
    ]);
    expect(await ok(betaAgent, 'pilot_approve', { peer: alpha.address })).toMatchObject({
      status: 'approved',
    });
    await waitForTool(alphaAgent, 'pilot_trust', (out) => (out.peer as { trusted: boolean }).trusted, {
      peer: 'tools-beta',
    });

    const after = await ok(alphaAgent, 'pilot_discover_tools', { query: 'get_forecast' });
    const server = (after.servers as Record<string, unknown>[])[0] as {
      trusted: boolean;
      tools: { name: string; matches: boolean }[];
    };
    expect(server.trusted).toBe(true);
    expect(server.tools.filter((t) => t.matches).map((t) => t.name)).toEqual(['get_forecast']);

    for (const [tool, args] of [
      ['get_forecast', { city: 'Nairobi', days: 3 }],
      ['get_alerts', { region: 'Tyrol' }],
      ['fetch_data', { bytes: 20_000, seed: 7 }],
    ] as const) {
      const remote = await call(alphaAgent, 'pilot_call_remote_tool', {
        peer: 'tools-beta',
        tool,
        arguments: args,
      });
      const local = await localWeather.callTool({ name: tool, arguments: args });
      expect(remote).toEqual(local);
    }
    // A remote tool's own error comes back as the remote result.
    const bad = await call(alphaAgent, 'pilot_call_remote_tool', {
      peer: 'tools-beta',
      tool: 'no_such_tool',
    });
    expect(bad.isError).toBe(true);
  }, 60_000);

  it('mount re-exports the remote tools under a prefix and tells the client', async () => {
    let changed = 0;
    alphaAgent.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      changed += 1;
    });
    const mounted = await ok(alphaAgent, 'pilot_mount', { peer: 'tools-beta', prefix: 'wx' });
    expect(mounted.tools).toEqual([
      'wx__get_forecast',
      'wx__get_alerts',
      'wx__fetch_data',
      'wx__server_info',
    ]);
    await waitFor(() => changed > 0, 10_000, 'tools/list_changed');
    const names = (await alphaAgent.listTools()).tools.map((t) => t.name);
    expect(names).toContain('wx__get_alerts');
    expect(await alphaAgent.callTool({ name: 'wx__get_alerts', arguments: { region: 'Tyrol' } })).toEqual(
      await localWeather.callTool({ name: 'get_alerts', arguments: { region: 'Tyrol' } }),
    );
    expect(await ok(alphaAgent, 'pilot_unmount', { prefix: 'wx' })).toEqual({ prefix: 'wx', removed: 4 });
    expect((await alphaAgent.listTools()).tools.map((t) => t.name)).not.toContain('wx__get_alerts');
  });

  it('a hostile server cannot flood the agent: discovery and mount cap its tool list', async () => {
    const found = await ok(alphaAgent, 'pilot_discover_tools', { query: 'weather', port: 1011 });
    const server = (found.servers as Record<string, unknown>[])[0] as {
      tools: { name: string; description?: string; input_schema?: unknown }[];
      tools_omitted: number;
    };
    expect(server.tools, JSON.stringify(found).slice(0, 500)).toHaveLength(100);
    expect(server.tools_omitted).toBe(400);
    expect(Math.max(...server.tools.map((t) => t.description?.length ?? 0))).toBeLessThanOrEqual(1001);
    expect(server.tools[1]?.input_schema).toBeUndefined();
    expect(JSON.stringify(found).length).toBeLessThan(200_000);
    const mounted = await ok(alphaAgent, 'pilot_mount', { peer: 'tools-beta', prefix: 'evil', port: 1011 });
    const names = mounted.tools as string[];
    expect(names).toHaveLength(100);
    expect(names.every((name) => /^evil__tool_\d+$/.test(name))).toBe(true);
    expect(names).not.toContain('evil__tool_1');
    expect(await ok(alphaAgent, 'pilot_unmount', { prefix: 'evil' })).toEqual({
      prefix: 'evil',
      removed: 100,
    });
  });

  it('HTTP: another Host is refused (DNS rebinding), an oversized body is 413, a session starts with initialize', async () => {
    const url = new URL(betaUrl);
    const post = (headers: Record<string, string>, body: string) =>
      new Promise<number>((resolve, reject) => {
        const req = httpRequest(
          {
            host: url.hostname,
            port: url.port,
            path: url.pathname,
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              accept: 'application/json, text/event-stream',
              ...headers,
            },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    const initialize = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'evil', version: '1' } },
    });
    expect(await post({ host: `evil.example:${url.port}` }, initialize)).toBe(403);
    expect(await post({}, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }))).toBe(400);
    expect(await post({}, `"${'z'.repeat(5 * 1024 * 1024)}"`).catch(() => 413)).toBe(413);
  });

  it('data tools: send-message lands in the inbox, send-file in received; ping; payload caps', async () => {
    const sent = await ok(alphaAgent, 'pilot_send_message', {
      peer: 'tools-beta',
      message: '{"hello":"beta"}',
      type: 'json',
    });
    expect(sent).toMatchObject({ address: beta.address, type: 'json', bytes: 16 });
    const inbox = await waitForTool(betaAgent, 'pilot_inbox', (out) =>
      (out.messages as { data: string }[]).some((m) => m.data === '{"hello":"beta"}'),
    );
    expect((inbox.messages as { from: string }[]).at(-1)?.from).toBe(alpha.address);

    const path = join(dir, 'report.txt');
    writeFileSync(path, 'x'.repeat(30_000));
    const file = await ok(alphaAgent, 'pilot_send_file', { peer: beta.address, path });
    expect(file).toMatchObject({ name: 'report.txt', bytes: 30_000, frames: 1 });
    const received = await waitForTool(betaAgent, 'pilot_received', (out) => (out.count as number) > 0);
    const got = (received.files as { name: string; path: string; bytes: number }[])[0];
    // The receiving daemon stamps the name to keep files apart.
    expect(got?.name).toMatch(/^report.*\.txt$/);
    expect(got?.bytes).toBe(30_000);
    expect(readFileSync(got?.path ?? '', 'utf8')).toBe('x'.repeat(30_000));

    const pinged = await ok(alphaAgent, 'pilot_ping', { peer: 'tools-beta', count: 2 });
    expect(pinged).toMatchObject({ node_id: beta.nodeId, sent: 2, replies: 2, path: 'direct' });

    // Alpha's server runs with --max-payload 65536.
    const big = await fails(alphaAgent, 'pilot_send_message', {
      peer: 'tools-beta',
      message: 'y'.repeat(70_000),
    });
    expect(big.error).toBe('too_large');
    expect(big.message).toContain('65536');
    // The node's identity never leaves through the tool (a prompt-injected agent would try).
    const secret = await fails(alphaAgent, 'pilot_send_file', {
      peer: 'tools-beta',
      path: join(dir, 'alpha', 'identity.json'),
    });
    expect(secret.error).toBe('invalid_argument');
    expect(secret.message).toContain('own files');
    expect(
      (await fails(alphaAgent, 'pilot_send_file', { peer: 'tools-beta', path: join(dir, 'missing') })).error,
    ).toBe('not_found');
  });

  it('subscribe returns at once; events arrive as a resource, with resources/updated notifications', async () => {
    const updates: string[] = [];
    alphaAgent.setNotificationHandler(ResourceUpdatedNotificationSchema, (note) => {
      updates.push(note.params.uri);
    });
    const sub = await ok(alphaAgent, 'pilot_subscribe', { peer: 'tools-beta', topic: 'news' });
    expect(sub).toMatchObject({
      id: 's1',
      uri: 'pilot://subscriptions/s1',
      address: beta.address,
      state: 'open',
    });
    await alphaAgent.subscribeResource({ uri: String(sub.uri) });
    expect((await alphaAgent.listResources()).resources.map((r) => r.uri)).toEqual([
      'pilot://subscriptions/s1',
    ]);
    // Another publisher on beta's event stream (alpha's agent, on a stream of its own).
    expect(
      await ok(alphaAgent, 'pilot_publish', { peer: 'tools-beta', topic: 'news', message: 'storm at noon' }),
    ).toEqual({
      address: beta.address,
      topic: 'news',
      bytes: 13,
    });
    await waitFor(() => updates.includes('pilot://subscriptions/s1'), 10_000, 'resources/updated');
    const read = await alphaAgent.readResource({ uri: 'pilot://subscriptions/s1' });
    const content = read.contents[0] as { text: string };
    expect(JSON.parse(content.text).events).toEqual([
      expect.objectContaining({ seq: 1, topic: 'news', data: 'storm at noon' }),
    ]);
    const events = await ok(alphaAgent, 'pilot_events', { subscription: 's1' });
    expect(events.count).toBe(1);
    expect((await ok(alphaAgent, 'pilot_events', { subscription: 's1', since: 1 })).count).toBe(0);
    expect(await ok(alphaAgent, 'pilot_unsubscribe', { subscription: 's1' })).toEqual({
      id: 's1',
      closed: true,
    });
    expect((await fails(alphaAgent, 'pilot_events', { subscription: 's1' })).error).toBe('not_found');
  });

  it('trust tools: reject without a request, untrust, and the remote call is refused again', async () => {
    const trust = await ok(betaAgent, 'pilot_trust');
    expect(trust.trusted).toEqual([expect.objectContaining({ node_id: alpha.nodeId })]);
    const rejected = await call(betaAgent, 'pilot_reject', { peer: alpha.address, reason: 'no' });
    expect(rejected.content.length).toBeGreaterThan(0);
    expect(await ok(alphaAgent, 'pilot_untrust', { peer: 'tools-beta' })).toMatchObject({
      status: 'revoked',
    });
    const refused = await fails(alphaAgent, 'pilot_call_remote_tool', {
      peer: 'tools-beta',
      tool: 'server_info',
    });
    expect(refused.error).toBe('not_trusted');
  });

  it('--read-only offers only the tools that change nothing', async () => {
    const readOnly = await stdioAgent(['--socket', alpha.socket, '--read-only']);
    try {
      const { tools } = await readOnly.listTools();
      expect(tools.every((t) => t.annotations?.readOnlyHint === true)).toBe(true);
      expect(tools.map((t) => t.name)).not.toContain('pilot_send_message');
      expect(tools.map((t) => t.name)).toContain('pilot_discover_tools');
      expect((await fails(readOnly, 'pilot_send_message', { peer: 'tools-beta', message: 'x' })).error).toBe(
        'read_only',
      );
    } finally {
      await readOnly.close();
    }
  });

  it('a daemon that is not running is a not_running result', async () => {
    const orphan = await stdioAgent(['--socket', join(dir, 'nobody.sock')]);
    try {
      const failure = await fails(orphan, 'pilot_info');
      expect(failure).toMatchObject({ error: 'not_running', pilot_code: 'DRIVER_NOT_RUNNING' });
    } finally {
      await orphan.close();
    }
  });

  it("a registry refusing the node's signature is auth_required, with the code underneath", async () => {
    // Gamma's key is rotated at the registry behind its back (whoever holds its identity may): the
    // registry now refuses what the daemon signs. Gamma asks for nothing by itself for a while.
    const gamma = await startDaemon(options('gamma', { handshakePoll: 600_000, heartbeat: 600_000 }));
    let agent: Client | undefined;
    try {
      const [host, port] = registryAddr.split(':');
      const registry = await DirectoryClient.connect({
        host: host as string,
        port: Number(port),
        tls: { pin: fingerprint },
      });
      try {
        const old = signerFromIdentity(loadOrCreateIdentity(join(dir, 'gamma', 'identity.json')).identity);
        await registry.rotateKey(old, gamma.nodeId, createSigner().publicKey);
      } finally {
        registry.close();
      }
      agent = await stdioAgent(['--socket', gamma.socket]);
      // Our daemon passes DIR_BAD_SIGNATURE on as IPC code 1, naming it in the text: was `internal`.
      expect(await fails(agent, 'pilot_handshake', { peer: beta.address, justification: 'x' })).toMatchObject(
        {
          error: 'auth_required',
          pilot_code: 'DIR_BAD_SIGNATURE',
        },
      );
    } finally {
      await agent?.close();
      await gamma.close();
    }
  }, 60_000);

  it('--print-config prints a harness snippet only', async () => {
    const printed = await run(process.execPath, [BIN, '--print-config', 'claude', '--read-only'], dir);
    expect(printed.status).toBe(0);
    expect(JSON.parse(printed.stdout)).toMatchObject({
      mcpServers: { pilot: { command: 'pilot-mcp', args: ['--read-only'] } },
    });
    const vscode = await run(process.execPath, [BIN, '--print-config', 'vscode', '--http', '8765'], dir);
    expect(JSON.parse(vscode.stdout)).toEqual({
      servers: { pilot: { type: 'http', url: 'http://127.0.0.1:8765/mcp' } },
    });
    expect((await run(process.execPath, [BIN, '--print-config', 'emacs'], dir)).status).toBe(2);
  });

  it('the MCP Inspector CLI lists the tools and calls one, over stdio and over HTTP', async () => {
    // The Inspector finds its own package.json relative to the working directory's parent.
    const cwd = fileURLToPath(new URL('.', import.meta.url));
    const listed = await run(
      process.execPath,
      [INSPECTOR, process.execPath, BIN, '--socket', alpha.socket, '--method', 'tools/list'],
      cwd,
    );
    expect(listed.status, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as { tools: { name: string }[] }).tools.map((t) => t.name)).toContain(
      'pilot_call_remote_tool',
    );
    const found = await run(
      process.execPath,
      [
        INSPECTOR,
        process.execPath,
        BIN,
        '--socket',
        alpha.socket,
        '--method',
        'tools/call',
        '--tool-name',
        'pilot_find',
        '--tool-arg',
        'hostname=tools-beta',
      ],
      cwd,
    );
    expect(found.status, found.stderr).toBe(0);
    expect((JSON.parse(found.stdout) as CallToolResult).structuredContent, found.stdout).toMatchObject({
      node_id: beta.nodeId,
      hostname: 'tools-beta',
    });
    const called = await run(
      process.execPath,
      [INSPECTOR, betaUrl, '--method', 'tools/call', '--tool-name', 'pilot_info'],
      cwd,
    );
    expect(called.status, called.stderr).toBe(0);
    const result = JSON.parse(called.stdout) as CallToolResult;
    expect(result.structuredContent, called.stdout).toMatchObject({
      node_id: beta.nodeId,
      hostname: 'tools-beta',
    });
  }, 60_000);
});

async function waitForTool(
  client: Client,
  name: string,
  done: (out: Record<string, unknown>) => boolean,
  args: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const out = await ok(client, name, args);
    if (done(out)) return out;
    if (Date.now() > deadline) throw new Error(`${name} did not get there: ${JSON.stringify(out)}`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}
