import { afterEach, describe, expect, it } from 'vitest';
import { createSigner, DirectoryClient } from '../src/index.js';
import { type RunningServer, runServer } from './tcp-helpers.js';

let running: RunningServer | undefined;
const clients: DirectoryClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await running?.close();
  running = undefined;
});

describe('concurrency', () => {
  it('200 clients register, name themselves and look each other up at once over TCP', async () => {
    const count = 200;
    running = await runServer({
      maxConnectionsPerSource: 256,
      sourceRate: { perSecond: 100_000, burst: 100_000 },
    });
    const port = running.server.port;
    const agents = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const client = await DirectoryClient.connect({ host: '127.0.0.1', port });
        clients.push(client);
        const signer = createSigner();
        const { nodeId } = await client.register(signer, {
          listenAddr: `:${5000 + i}`,
          hostname: `agent-${i}`,
        });
        await client.setVisibility(signer, nodeId, true);
        return { client, signer, nodeId, i };
      }),
    );
    const ids = agents.map((a) => a.nodeId).sort((x, y) => x - y);
    expect(ids).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    const checks = await Promise.all(
      agents.map(async (agent) => {
        const peer = agents[(agent.i + 1) % count]!;
        const byName = await agent.client.resolveHostname(`agent-${peer.i}`);
        const info = await agent.client.lookup(byName.nodeId);
        const endpoint = await agent.client.resolve(agent.signer, agent.nodeId, peer.nodeId);
        return (
          byName.nodeId === peer.nodeId &&
          info.hostname === `agent-${peer.i}` &&
          endpoint.realAddr === `127.0.0.1:${5000 + peer.i}`
        );
      }),
    );
    expect(checks.every(Boolean)).toBe(true);
  });
});
