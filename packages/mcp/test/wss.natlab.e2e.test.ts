// Issue 16's TLS path, end to end across the NAT lab with the real programs: the rendezvous in `pub`
// serves its relay over WebSocket-over-TLS (by default on the registry's host, port 9443, advertised by
// the registry as `wss_port`; `--wss-addr` in the proxy case); daemon "alpha" (p1) sits behind a router
// that drops every UDP datagram (nftables) and runs with the default `--transport auto` and no flag
// (`--wss` and `--proxy` in the proxy case);
// daemon "beta" (p2) is an ordinary one. Alpha registers, is found, trusted, pings over `relay-tls`,
// serves an MCP call to beta, and sends beta a 50 MiB file; mid-transfer the router lets UDP through
// again and the tunnel moves to a direct path in place, and the file's sha256 matches on arrival.
// Root only (the NAT lab); skipped with the reason otherwise.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { tinyproxyReady, tinyproxyUnavailable, writeTinyproxyConfig } from '@pilot/testkit';
import {
  LAB_BEACON,
  LAB_PUBLIC_IP,
  LAB_REGISTRY,
  LAB_STUN,
  type LabProcess,
  labUnavailable,
  NatLab,
  RENDEZVOUS_MAIN,
  startLabDaemon,
} from '@pilot/testkit/natlab';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_MCP_PORT } from '../src/index.js';
import { newClient, WEATHER_SERVER } from './helpers/mcp.js';
import {
  eventually,
  ipBinary,
  type LabDaemon,
  PILOTCTL,
  pilotctl,
  pilotctlOk,
  programsMissing,
  stopProcess,
} from './lab/lab-nodes.js';

// net.Socket's destroy path touches process.stderr: open it before the leak check's baseline.
void process.stderr;

const unavailable = labUnavailable() ?? programsMissing();
const dir = mkdtempSync(join(tmpdir(), 'pilot-wss-lab-'));
const WSS = `${LAB_PUBLIC_IP}:8443`;
/** The relay's default address: the registry's host, port 9443 (pilot-rendezvous without --wss-addr). */
const DEFAULT_WSS = `${LAB_PUBLIC_IP}:9443`;
const FILE_BYTES = 50 * 1024 * 1024;

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The rendezvous with its TLS relay; the relay budget at 8 MiB/s a node, so a 50 MiB file takes a while. */
async function startRendezvous(lab: NatLab, caseDir: string, wss?: string): Promise<LabProcess> {
  const rendezvous = lab.node('pub', RENDEZVOUS_MAIN, [
    '--registry-addr',
    LAB_REGISTRY,
    '--beacon-addr',
    LAB_BEACON,
    '--stun-addr',
    LAB_STUN,
    ...(wss === undefined ? [] : ['--wss-addr', wss]),
    '--store',
    join(caseDir, 'registry.db'),
    '--log-format',
    'json',
    '--budget-beacon-relay-node-bytes',
    String(8 << 20),
    '--budget-beacon-relay-node-rate',
    '20000',
    '--budget-beacon-relay-ip-bytes',
    String(16 << 20),
    '--budget-beacon-relay-ip-rate',
    '40000',
  ]);
  const line = await rendezvous.waitFor((l) => typeof l.registry === 'string', 20_000, 'the rendezvous');
  expect(line.wss).toBe(wss ?? DEFAULT_WSS);
  return rendezvous;
}

async function startDaemon(
  lab: NatLab,
  peer: 'p1' | 'p2',
  caseDir: string,
  name: string,
  extra: readonly string[] = [],
): Promise<LabDaemon> {
  const { process, home, socket, nodeId, address } = await startLabDaemon(lab, peer, caseDir, name, {
    extra,
  });
  return {
    name,
    peer,
    process,
    nodeId,
    address,
    env: { PILOT_SOCKET: socket, PILOT_HOME: home, PILOT_REGISTRY: LAB_REGISTRY },
  };
}

/**
 * `udp`: drops every UDP datagram the router forwards (both ways), before its NAT sees it.
 * `all`: forwards nothing at all: only what the router itself sends (its proxy) gets out.
 */
async function block(lab: NatLab, router: 'r1' | 'r2', what: 'udp' | 'all'): Promise<void> {
  await lab.exec(router, 'nft', ['add', 'table', 'inet', 'pilot_wss_block']);
  await lab.exec(router, 'nft', [
    `add chain inet pilot_wss_block forward { type filter hook forward priority -300 ; policy ${what === 'all' ? 'drop' : 'accept'} ; }`,
  ]);
  if (what === 'udp')
    await lab.exec(router, 'nft', [
      'add',
      'rule',
      'inet',
      'pilot_wss_block',
      'forward',
      'meta',
      'l4proto',
      'udp',
      'drop',
    ]);
}

/** The HTTP proxy on r1's LAN address (tinyproxy, basic auth), allowed to reach the registry and the relay only. */
const PROXY = { host: '10.1.0.1', port: 8888, user: 'agent', password: 's3cret' } as const;

async function startProxy(lab: NatLab, caseDir: string): Promise<LabProcess> {
  const config = writeTinyproxyConfig(caseDir, {
    listen: PROXY.host,
    port: PROXY.port,
    allow: ['10.1.0.0/24'],
    connectPorts: [Number(LAB_REGISTRY.split(':')[1]), Number(WSS.split(':')[1])],
    auth: { user: PROXY.user, password: PROXY.password },
  });
  const proxy = lab.spawn('r1', 'tinyproxy', ['-d', '-c', config]);
  await tinyproxyReady(proxy);
  return proxy;
}

async function unblock(lab: NatLab, router: 'r1' | 'r2'): Promise<void> {
  await lab.exec(router, 'nft', ['delete', 'table', 'inet', 'pilot_wss_block']);
}

async function peerView(
  lab: NatLab,
  from: LabDaemon,
  to: LabDaemon,
): Promise<Record<string, unknown> | undefined> {
  const info = await pilotctlOk(lab, from, ['info']);
  return (info.peer_list as Record<string, unknown>[] | undefined)?.find((p) => p.node_id === to.nodeId);
}

async function trust(lab: NatLab, from: LabDaemon, to: LabDaemon): Promise<void> {
  await pilotctlOk(lab, from, ['handshake', to.address, 'issue 16: TLS path']);
  await eventually(
    async () => {
      const { pending } = await pilotctlOk(lab, to, ['pending']);
      return (pending as { node_id: number }[]).some((p) => p.node_id === from.nodeId) ? true : undefined;
    },
    30_000,
    `${to.name} to receive the trust request`,
  );
  await pilotctlOk(lab, to, ['approve', String(from.nodeId)]);
  await eventually(
    async () => {
      const { trusted } = await pilotctlOk(lab, from, ['trust']);
      return (trusted as { node_id: number }[]).some((t) => t.node_id === to.nodeId) ? true : undefined;
    },
    30_000,
    `${from.name} to learn the approval`,
  );
}

describe.skipIf(unavailable !== undefined)(
  `the TLS path across the NAT lab${unavailable === undefined ? '' : ` (skipped: ${unavailable})`}`,
  () => {
    it.each([
      ['nftables drops all UDP in front of alpha', 'udp'],
      ["an HTTP CONNECT proxy (tinyproxy) is alpha's only way out", 'proxy'],
    ] as const)(
      '%s: register, find, trust, ping, MCP, 50 MiB; UDP back moves it direct mid-transfer',
      async (_title, kind) => {
        const missing = kind === 'proxy' ? tinyproxyUnavailable() : undefined;
        if (missing !== undefined) throw new Error(missing);
        const caseDir = join(dir, kind);
        mkdirSync(caseDir, { recursive: true });
        const lab = await NatLab.up('ei', 'ei');
        const processes: LabProcess[] = [];
        const daemons: LabDaemon[] = [];
        const marks: string[] = [];
        let last = performance.now();
        const mark = (what: string): void => {
          marks.push(`${what} ${Math.round(performance.now() - last)} ms`);
          last = performance.now();
        };
        try {
          // udp: no --wss-addr and no --wss: the registry tells alpha where the relay is (wss_port).
          processes.push(await startRendezvous(lab, caseDir, kind === 'proxy' ? WSS : undefined));
          const alphaFlags: string[] = [];
          if (kind === 'proxy') {
            alphaFlags.push('--wss', WSS);
            processes.push(await startProxy(lab, caseDir));
            alphaFlags.push('--proxy', `http://${PROXY.user}:${PROXY.password}@${PROXY.host}:${PROXY.port}`);
          }
          await block(lab, 'r1', kind === 'proxy' ? 'all' : 'udp');
          const [alpha, beta] = await Promise.all([
            startDaemon(lab, 'p1', caseDir, 'alpha', alphaFlags),
            startDaemon(lab, 'p2', caseDir, 'beta'),
          ]);
          daemons.push(alpha, beta);
          processes.push(alpha.process, beta.process);
          mark('registered');
          // No discover answer over UDP: alpha relays over TLS (default --transport auto).
          const relayInfo = await eventually(
            async () => {
              const info = await pilotctlOk(lab, alpha, ['info']);
              const tls = info.tls_relay as { active?: boolean; up?: boolean } | undefined;
              return tls?.active === true && tls.up === true ? info : undefined;
            },
            20_000,
            "alpha's TLS relay link",
          );
          expect(relayInfo.transport_mode).toBe('auto');
          expect(relayInfo.tls_relay).toMatchObject({ address: kind === 'proxy' ? WSS : DEFAULT_WSS });
          mark('relay-tls up');

          await trust(lab, alpha, beta);
          mark('trusted');
          // Found: each resolves the other by name through the registry.
          expect(await pilotctlOk(lab, beta, ['find', 'alpha'])).toMatchObject({ node_id: alpha.nodeId });
          expect(await pilotctlOk(lab, alpha, ['find', 'beta'])).toMatchObject({ node_id: beta.nodeId });

          const ping = await pilotctlOk(lab, alpha, ['ping', 'beta', '--count', '4']);
          expect(ping).toMatchObject({ replies: 4, path: 'relay-tls' });
          const pingBack = await pilotctlOk(lab, beta, ['ping', 'alpha', '--count', '2']);
          expect(pingBack.replies).toBe(2);
          expect(await peerView(lab, beta, alpha)).toMatchObject({ authenticated: true, encrypted: true });
          mark(`ping ${String(ping.avg_ms)} ms`);

          // Alpha serves MCP; beta's official SDK client calls a tool on it over the TLS path.
          const serve = lab.node(
            'p1',
            PILOTCTL,
            ['mcp', 'serve', '--port', DEFAULT_MCP_PORT, '--', process.execPath, WEATHER_SERVER],
            { env: { ...alpha.env } },
          );
          processes.unshift(serve);
          await eventually(
            async () => (serve.stderr.includes('serving MCP') ? true : undefined),
            30_000,
            `pilotctl mcp serve (stderr: ${serve.stderr})`,
            100,
          );
          const { NODE_CHANNEL_FD: _fd, NODE_CHANNEL_SERIALIZATION_MODE: _mode, ...inherited } = process.env;
          const transport = new StdioClientTransport({
            command: ipBinary(),
            args: [
              'netns',
              'exec',
              lab.namespace('p2'),
              process.execPath,
              PILOTCTL,
              'mcp',
              'connect',
              'alpha',
              '--port',
              String(DEFAULT_MCP_PORT),
            ],
            env: { ...(inherited as Record<string, string>), ...beta.env },
            stderr: 'pipe',
          });
          const client = newClient('over-relay-tls');
          await client.connect(transport);
          const forecast = await client.callTool({
            name: 'get_forecast',
            arguments: { city: 'Nairobi', days: 2 },
          });
          expect(JSON.stringify(forecast)).toContain('Nairobi');
          await client.close();
          mark('mcp call');

          // 50 MiB from alpha to beta; once 8 MiB are through, the router lets UDP pass again.
          const file = join(caseDir, 'big.bin');
          const bytes = randomBytes(FILE_BYTES);
          writeFileSync(file, bytes);
          const expected = createHash('sha256').update(bytes).digest('hex');
          const sending = pilotctl(lab, alpha, ['send-file', 'beta', file, '--timeout', '180s'], 240_000);
          const sentBefore = Number((await peerView(lab, alpha, beta))?.bytes_sent ?? 0);
          await eventually(
            async () => {
              const view = await peerView(lab, alpha, beta);
              return Number(view?.bytes_sent ?? 0) - sentBefore > 8 * 1024 * 1024 ? true : undefined;
            },
            60_000,
            '8 MiB over the TLS relay',
            100,
          );
          expect((await peerView(lab, alpha, beta))?.path).toBe('relay-tls');
          mark('8 MiB over relay-tls');
          await unblock(lab, 'r1');
          const direct = await eventually(
            async () => {
              const view = await peerView(lab, alpha, beta);
              return view?.path === 'direct' ? view : undefined;
            },
            30_000,
            'a direct path after UDP came back',
            200,
          );
          mark('direct');
          const movedAt = Number(direct.bytes_sent) - sentBefore;
          const sent = await sending;
          expect(sent.code, sent.stderr).toBe(0);
          expect(sent.data).toMatchObject({ bytes: FILE_BYTES, sha256: expected });
          mark(`50 MiB sent (${String(sent.data.mb_per_s)} MB/s)`);
          // The move happened while the file was in flight.
          expect(movedAt).toBeLessThan(FILE_BYTES);
          const received = join(String(beta.env.PILOT_HOME), 'received');
          const landed = await eventually(
            async () => {
              const names = readdirSync(received);
              const path = join(received, names[0] ?? '');
              return names.length === 1 && statSync(path).size === FILE_BYTES ? path : undefined;
            },
            30_000,
            'the file on beta',
          );
          expect(createHash('sha256').update(readFileSync(landed)).digest('hex')).toBe(expected);
          const after = await pilotctlOk(lab, alpha, ['info']);
          expect(after.tls_relay).toMatchObject({ active: false });
          expect((after.tunnel as Record<string, number>).tls_udp_restored).toBe(1);
          console.log(
            `TLS path lab (${kind}): ${marks.join(' · ')} · moved to direct after ${(movedAt / 1048576).toFixed(1)} MiB`,
          );
        } catch (error) {
          for (const d of daemons)
            console.error(`--- ${d.name} stderr ---\n${d.process.stderr.slice(-4000)}`);
          throw error;
        } finally {
          for (const proc of processes) await stopProcess(proc).catch(() => {});
          await lab.close();
        }
      },
      240_000,
    );
  },
);
