// The issue's proof, end to end across real NATs with the real programs: the rendezvous in the lab's
// `pub` namespace; daemon "beta" behind a port-restricted NAT (p2, `ei`) runs `pilotctl mcp serve
// --port 1010 --publish-tools -- node weather-server.mjs`; daemon "alpha" behind a full-cone NAT (p1).
// An official-SDK `Client` in this process spawns `pilotctl mcp connect beta --port 1010` inside
// alpha's namespace through `StdioClientTransport`: refused before trust (a clear not_trusted error),
// after `pilotctl handshake` / `approve` it lists the tools and calls them, and every answer equals the
// one the same server gives over plain local stdio. `pilotctl peers --search <tool>` finds beta.
// Root only (the NAT lab); skipped with the reason otherwise.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { labUnavailable, NatLab } from '@pilot/testkit/natlab';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_MCP_PORT } from '../src/index.js';
import { payload } from './fixtures/weather-server.mjs';
import { newClient, textOf, WEATHER_SERVER } from './helpers/mcp.js';
import {
  eventually,
  ipBinary,
  type LabDaemon,
  PILOTCTL,
  pilotctlOk,
  programsMissing,
  startDaemon,
  startRendezvous,
  stopProcess,
} from './lab/lab-nodes.js';

// net.Socket's destroy path touches process.stderr: open it before the leak check's baseline.
void process.stderr;

const unavailable = labUnavailable() ?? programsMissing();
const dir = mkdtempSync(join(tmpdir(), 'pilot-mcp-lab-'));

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The calls made on both ends; their answers must be equal byte for byte. */
const CALLS = [
  { name: 'get_forecast', arguments: { city: 'Nairobi', days: 4 } },
  { name: 'get_alerts', arguments: { region: 'Tyrol' } },
  { name: 'get_alerts', arguments: { region: 'Patagonia' } },
  { name: 'fetch_data', arguments: { bytes: 200_000, seed: 7 } },
] as const;

/** An SDK client whose stdio endpoint is `pilotctl mcp connect` inside `daemon`'s namespace. */
function pilotClientTransport(lab: NatLab, daemon: LabDaemon, target: string): StdioClientTransport {
  const { NODE_CHANNEL_FD: _fd, NODE_CHANNEL_SERIALIZATION_MODE: _mode, ...inherited } = process.env;
  return new StdioClientTransport({
    command: ipBinary(),
    args: [
      'netns',
      'exec',
      lab.namespace(daemon.peer),
      process.execPath,
      PILOTCTL,
      'mcp',
      'connect',
      target,
      '--port',
      String(DEFAULT_MCP_PORT),
    ],
    env: { ...(inherited as Record<string, string>), ...daemon.env },
    stderr: 'pipe',
  });
}

/** What the client's `pilotctl mcp connect` wrote on stderr. */
function collectStderr(transport: StdioClientTransport): () => string {
  let text = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  return () => text;
}

/** The fixture's answers over plain local stdio: what the remote calls must give. */
async function localAnswers(): Promise<{ tools: string[]; results: unknown[] }> {
  const client = newClient('local-reference');
  await client.connect(
    new StdioClientTransport({ command: process.execPath, args: [WEATHER_SERVER], stderr: 'ignore' }),
  );
  try {
    const { tools } = await client.listTools();
    const results: unknown[] = [];
    for (const call of CALLS) results.push(await client.callTool({ ...call }));
    return { tools: tools.map((tool) => tool.name).sort(), results };
  } finally {
    await client.close();
  }
}

describe.skipIf(unavailable !== undefined)(
  `MCP across the NAT lab with pilotctl${unavailable === undefined ? '' : ` (skipped: ${unavailable})`}`,
  () => {
    it('refuses an untrusted client, serves it after the handshake; peers --search finds the tools once trusted', async () => {
      const expected = await localAnswers();
      mkdirSync(join(dir, 'case'), { recursive: true });
      const caseDir = join(dir, 'case');
      // p1 = alpha (client side), p2 = beta (server side).
      const lab = await NatLab.up('fullcone', 'ei');
      const processes = [];
      const daemons: LabDaemon[] = [];
      try {
        processes.push(await startRendezvous(lab, join(caseDir)));
        const [alpha, beta] = await Promise.all([
          startDaemon(lab, 'p1', caseDir, 'alpha'),
          startDaemon(lab, 'p2', caseDir, 'beta'),
        ]);
        daemons.push(alpha, beta);
        processes.push(alpha.process, beta.process);

        const serve = lab.node(
          'p2',
          PILOTCTL,
          [
            'mcp',
            'serve',
            '--port',
            DEFAULT_MCP_PORT,
            '--tags',
            'weather',
            '--publish-tools',
            '--',
            process.execPath,
            WEATHER_SERVER,
          ],
          { env: { ...beta.env } },
        );
        processes.unshift(serve);
        await eventually(
          async () => (serve.stderr.includes('serving MCP') ? true : undefined),
          30_000,
          `pilotctl mcp serve to start (stderr: ${serve.stderr})`,
          100,
        );
        expect(serve.stderr).toContain('published tags: mcp, weather, get-forecast, get-alerts');

        // Discovery: beta is private, so a stranger's search does not show it…
        const search = async (): Promise<{ node_id: number; tags: string[] }[]> =>
          (await pilotctlOk(lab, alpha, ['peers', '--search', 'get-forecast'])).results as {
            node_id: number;
            tags: string[];
          }[];
        expect((await search()).map((hit) => hit.node_id)).not.toContain(beta.nodeId);

        // Untrusted: beta is private and has not approved alpha; the connect fails, and says why.
        const refusedTransport = pilotClientTransport(lab, alpha, beta.address);
        const refusedStderr = collectStderr(refusedTransport);
        const exited = new Promise<void>((resolve) => {
          refusedTransport.onclose = () => resolve();
        });
        const refused = newClient('untrusted');
        const failure = await refused.connect(refusedTransport).then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(failure, 'an untrusted client must not get a session').toBeInstanceOf(Error);
        await exited;
        await refused.close();
        expect(refusedStderr()).toMatch(/\[not_trusted\]/);

        // The trust handshake through the registry: alpha asks, beta approves.
        await pilotctlOk(lab, alpha, ['handshake', beta.address, 'an MCP client']);
        await eventually(
          async () => {
            const { pending } = await pilotctlOk(lab, beta, ['pending']);
            return (pending as { node_id: number }[]).some((p) => p.node_id === alpha.nodeId)
              ? true
              : undefined;
          },
          20_000,
          'beta to receive the trust request',
        );
        await pilotctlOk(lab, beta, ['approve', String(alpha.nodeId)]);
        await eventually(
          async () => {
            const { trusted } = await pilotctlOk(lab, alpha, ['trust']);
            return (trusted as { node_id: number }[]).some((t) => t.node_id === beta.nodeId)
              ? true
              : undefined;
          },
          20_000,
          'alpha to learn the approval',
        );

        // …and a node it trusts finds it by one of its tool names (pilotctl signs the search as alpha).
        const hits = await search();
        expect(hits.map((hit) => hit.node_id)).toContain(beta.nodeId);
        expect(hits.find((hit) => hit.node_id === beta.nodeId)?.tags).toEqual(
          expect.arrayContaining(['mcp', 'weather', 'get-forecast', 'fetch-data']),
        );

        // Trusted: by hostname this time (the registry resolves a private node for the nodes it trusts).
        const transport = pilotClientTransport(lab, alpha, 'beta');
        const stderr = collectStderr(transport);
        const client: Client = newClient('trusted');
        try {
          await client.connect(transport);
        } catch (error) {
          throw new Error(`connect failed: ${String(error)}; pilotctl said: ${stderr()}`);
        }
        const { tools } = await client.listTools();
        expect(tools.map((tool) => tool.name).sort()).toEqual(expected.tools);
        for (const [index, call] of CALLS.entries()) {
          expect(await client.callTool({ ...call })).toEqual(expected.results[index]);
        }
        // Parallel calls on the one session, each with its own payload.
        const parallel = await Promise.all(
          Array.from({ length: 10 }, (_, seed) =>
            client.callTool({ name: 'fetch_data', arguments: { bytes: 32_768, seed } }),
          ),
        );
        for (const [seed, result] of parallel.entries()) expect(textOf(result)).toBe(payload(32_768, seed));
        await client.close();

        // pilotctl mcp serve stops on SIGTERM and reports the sessions it served (the refused one never arrived).
        serve.signal('SIGTERM');
        const served = await serve.exited;
        expect(served.code, serve.stderr).toBe(0);
        expect(serve.stdout).toMatch(/served 1 sessions/);
      } catch (error) {
        for (const d of daemons) console.error(`--- ${d.name} stderr ---\n${d.process.stderr.slice(-3000)}`);
        throw error;
      } finally {
        for (const proc of processes) await stopProcess(proc).catch(() => {});
        await lab.close();
      }
    }, 90_000);
  },
);
