// `pilotctl mcp serve --publish-tools` and `pilotctl mcp connect` as real processes against real daemons
// and a real registry on loopback (the NAT-lab version is packages/mcp/test/natlab.e2e.test.ts): the
// server's tool names become directory tags that a trusted node finds with `peers --search`, and an
// untrusted client's connect fails with not_trusted.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type DirectoryServer,
  RegistryHandler,
  SqliteDirectoryStore,
  startDirectoryServer,
} from '@pilot/directory';
import { Beacon } from '@pilot/nat';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ok, pilotctl, type RunningPilotctl, startPilotctl } from './pilotctl-process.js';

// Child-process and socket paths may write to the worker's stderr/stdout: open them before the leak check's baseline.
void process.stderr;
void process.stdout;

const WEATHER_SERVER = fileURLToPath(new URL('../../mcp/test/fixtures/weather-server.mjs', import.meta.url));

interface Node {
  readonly env: NodeJS.ProcessEnv;
  readonly address: string;
  readonly nodeId: number;
  readonly pid: number;
}

let root = '';
let store: SqliteDirectoryStore | undefined;
let server: DirectoryServer | undefined;
let beacon: Beacon | undefined;
let registry = '';
const nodes: Node[] = [];
let alpha: Node;
let beta: Node;
let serving: RunningPilotctl | undefined;

async function startNode(name: string): Promise<Node> {
  const home = join(root, name);
  const socket = join(root, `${name}.sock`);
  const data = await ok(
    [
      'daemon',
      'start',
      '--registry',
      registry,
      '--beacon',
      `127.0.0.1:${beacon?.address().port}`,
      '--listen',
      '127.0.0.1:0',
      '--socket',
      socket,
      '--hostname',
      name,
    ],
    { PILOT_HOME: home },
  );
  const node = {
    env: { PILOT_HOME: home, PILOT_SOCKET: socket },
    address: String(data.address),
    nodeId: Number(data.node_id),
    pid: Number(data.pid),
  };
  nodes.push(node);
  return node;
}

async function eventually<T>(attempt: () => Promise<T | undefined>, what: string, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function searchIds(node: Node, tag: string): Promise<number[]> {
  const found = await ok(['peers', '--search', tag], node.env);
  return (found.results as { node_id: number }[]).map((hit) => hit.node_id);
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'pilotctl-mcp-'));
  store = new SqliteDirectoryStore({ path: join(root, 'directory.db') });
  server = await startDirectoryServer({ handler: new RegistryHandler(store), host: '127.0.0.1', port: 0 });
  beacon = await Beacon.start({ host: '127.0.0.1', port: 0 });
  registry = `127.0.0.1:${server.port}`;
  [alpha, beta] = await Promise.all([startNode('alpha'), startNode('beta')]);
}, 120_000);

afterAll(async () => {
  serving?.child.kill('SIGKILL');
  await serving?.done;
  for (const node of nodes) {
    const stopped = await pilotctl(['daemon', 'stop'], node.env);
    if (stopped.status !== 0 && node.pid > 0) {
      try {
        process.kill(node.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
  await beacon?.close();
  await server?.close();
  store?.close();
  rmSync(root, { recursive: true, force: true });
}, 120_000);

describe('pilotctl mcp', () => {
  it('serve --publish-tools publishes the tool names; a trusted node finds them, a stranger does not', async () => {
    serving = startPilotctl(
      ['mcp', 'serve', '--tags', 'weather', '--publish-tools', '--', process.execPath, WEATHER_SERVER],
      beta.env,
    );
    // The tags are set before the port is bound: wait until the registry has them (beta sees itself).
    await eventually(
      async () => ((await searchIds(beta, 'get-forecast')).includes(beta.nodeId) ? true : undefined),
      'the published tags',
    );
    const looked = await ok(['lookup', String(beta.nodeId)], alpha.env);
    expect(looked.tags).toEqual([
      'mcp',
      'weather',
      'get-forecast',
      'get-alerts',
      'fetch-data',
      'server-info',
    ]);
    // Beta is private: alpha's search shows it only once beta trusts alpha.
    expect(await searchIds(alpha, 'fetch-data')).not.toContain(beta.nodeId);

    // Untrusted, the connect fails and says why (the dial's own error, not a generic one).
    const refused = await pilotctl(['mcp', 'connect', beta.address], alpha.env, 60_000);
    expect(refused.status).toBe(1);
    expect(refused.error?.code, refused.stderr).toBe('not_trusted');

    await ok(['handshake', beta.address, 'mcp test'], alpha.env);
    await eventually(async () => {
      const { pending } = await ok(['pending'], beta.env);
      return (pending as { node_id: number }[]).some((p) => p.node_id === alpha.nodeId) ? true : undefined;
    }, 'the trust request');
    await ok(['approve', String(alpha.nodeId)], beta.env);
    await eventually(async () => {
      const { trusted } = await ok(['trust'], alpha.env);
      return (trusted as { node_id: number }[]).some((t) => t.node_id === beta.nodeId) ? true : undefined;
    }, 'the approval');
    expect(await searchIds(alpha, 'fetch-data')).toContain(beta.nodeId);

    serving.child.kill('SIGTERM');
    const served = await serving.done;
    serving = undefined;
    expect(served.status, served.stderr).toBe(0);
    expect(served.data.tags).toEqual([
      'mcp',
      'weather',
      'get-forecast',
      'get-alerts',
      'fetch-data',
      'server-info',
    ]);
  }, 120_000);

  it('serve --publish-tools with a command that is no MCP server fails with a clear error', async () => {
    const run = await pilotctl(
      ['mcp', 'serve', '--port', '1011', '--publish-tools', '--', process.execPath, '-e', 'process.exit(3)'],
      alpha.env,
      60_000,
    );
    expect(run.status).toBe(1);
    expect(run.error?.message, run.stderr).toMatch(/cannot list the tools/);
  }, 60_000);
});
