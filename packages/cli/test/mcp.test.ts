import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, LoopbackNetwork, type LoopbackNode } from './loopback-network.js';
import { ok, pilotctl, type RunningPilotctl, startPilotctl } from './pilotctl-process.js';

// Child-process and socket paths may write to the worker's stderr/stdout: open them before the leak check's baseline.
void process.stderr;
void process.stdout;

const WEATHER_SERVER = fileURLToPath(new URL('../../mcp/test/fixtures/weather-server.mjs', import.meta.url));

let net: LoopbackNetwork;
let alpha: LoopbackNode;
let beta: LoopbackNode;
let serving: RunningPilotctl | undefined;

async function searchIds(node: LoopbackNode, tag: string): Promise<number[]> {
  const found = await ok(['peers', '--search', tag], node.env);
  return (found.results as { node_id: number }[]).map((hit) => hit.node_id);
}

beforeAll(async () => {
  net = await LoopbackNetwork.start('pilotctl-mcp-');
  [alpha, beta] = await Promise.all([net.startNode('alpha'), net.startNode('beta')]);
}, 120_000);

afterAll(async () => {
  serving?.child.kill('SIGKILL');
  await serving?.done;
  await net?.stop();
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
