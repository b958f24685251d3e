import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Daemon, type DaemonOptions, startDaemon } from '@pilot/daemon';
import { Driver } from '@pilot/daemon/driver';
import { type DirectoryServer, RegistryHandler, startDirectoryServer } from '@pilot/directory/server';
import { SqliteDirectoryStore } from '@pilot/directory/sqlite';
import { Beacon } from '@pilot/nat';
import { isPilotError } from '@pilot/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMcp, DEFAULT_MCP_PORT, McpErrorCode, type McpServeHandle, serveMcp } from '../src/index.js';
import { forecast, payload } from './fixtures/weather-server.mjs';
import { connectClient, stdioPair, textOf, WEATHER_SERVER, waitFor } from './helpers/mcp.js';

// MCP between two real daemons on loopback: the in-process rendezvous (registry on SQLite + beacon),
// the trust handshake, and the driver as StreamDialer/StreamListener.
const dir = mkdtempSync(join(tmpdir(), 'pilot-mcp-daemons-'));
let store: SqliteDirectoryStore;
let registry: DirectoryServer;
let beacon: Beacon;
let alice: Daemon;
let bob: Daemon;
let aliceDriver: Driver;
let bobDriver: Driver;
let serving: McpServeHandle;

function options(name: string): DaemonOptions {
  return {
    home: join(dir, name),
    registry: `127.0.0.1:${registry.port}`,
    beacon: `127.0.0.1:${beacon.address().port}`,
    listen: '127.0.0.1:0',
    socket: join(dir, `${name}.sock`),
    hostname: `mcp-${name}`,
    handshakePoll: 200,
    heartbeat: 2000,
    logLevel: 'error',
  };
}

beforeAll(async () => {
  store = new SqliteDirectoryStore({ path: join(dir, 'registry.db') });
  registry = await startDirectoryServer({ handler: new RegistryHandler(store), port: 0, verifyWorkers: 0 });
  beacon = await Beacon.start({ host: '127.0.0.1', port: 0 });
  alice = await startDaemon(options('alice'));
  bob = await startDaemon(options('bob'));
  aliceDriver = await Driver.connect(alice.socket);
  bobDriver = await Driver.connect(bob.socket);
  serving = await serveMcp({
    listener: bobDriver,
    port: DEFAULT_MCP_PORT,
    command: process.execPath,
    args: [WEATHER_SERVER],
  });
});

afterAll(async () => {
  await serving?.close();
  await aliceDriver?.close();
  await bobDriver?.close();
  await alice?.close();
  await bob?.close();
  await registry?.close();
  store?.close();
  await beacon?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('MCP through two daemons', () => {
  it('refuses a client that bob does not trust', async () => {
    const { input, output } = stdioPair();
    const error = await connectMcp({ dialer: aliceDriver, address: bob.address, input, output }).catch(
      (e: unknown) => e,
    );
    expect(isPilotError(error, McpErrorCode.CONNECT_FAILED)).toBe(true);
    // Bob is private and does not trust alice: the daemon refuses before any packet reaches bob's port.
    expect(isPilotError((error as Error).cause, 'DAEMON_NOT_TRUSTED')).toBe(true);
    expect(serving.accepted).toBe(0);
  });

  it('serves a trusted client: list tools, call them, results match', async () => {
    await aliceDriver.handshake(bob.nodeId, 'mcp client');
    await bobDriver.handshake(alice.nodeId, 'mcp server');
    const trusts = async (driver: Driver, node: number) =>
      (await driver.trusted()).some((peer) => peer.node_id === node);
    const deadline = Date.now() + 20_000;
    while (!((await trusts(aliceDriver, bob.nodeId)) && (await trusts(bobDriver, alice.nodeId)))) {
      if (Date.now() > deadline) throw new Error('no mutual trust within 20 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    const { input, output, clientSide } = stdioPair();
    const done = connectMcp({ dialer: aliceDriver, address: bob.address, input, output });
    done.catch(() => undefined);
    const client = await connectClient(clientSide);
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual([
      'fetch_data',
      'get_alerts',
      'get_forecast',
      'server_info',
    ]);
    const result = await client.callTool({ name: 'get_forecast', arguments: { city: 'Nairobi', days: 4 } });
    expect(JSON.parse(textOf(result))).toEqual({ city: 'Nairobi', days: forecast('Nairobi', 4) });
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, seed) =>
        client.callTool({ name: 'fetch_data', arguments: { bytes: 65536, seed } }),
      ),
    );
    for (const [seed, r] of results.entries()) expect(textOf(r)).toBe(payload(65536, seed));
    expect(serving.accepted).toBe(1);
    await client.close();
    await done;
    await waitFor(() => serving.sessions === 0, 15_000, 'the session to end');
  });
});
