// Path MTU discovery across the NAT lab (@pilot/testkit/natlab), real sockets and a real router:
// p1 behind r1 (endpoint-independent NAT), p2 public. r1's WAN link gets a smaller MTU
// (`ip link set dev wan mtu 1280`) and sends no ICMP "fragmentation needed" (an nft rule drops it),
// so an oversized datagram simply vanishes: a black hole, as on paths whose firewalls eat ICMP.
// Root only; skipped with the reason otherwise.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type LabLine, labUnavailable, NatLab } from '@pilot/testkit/natlab';
import { describe, expect, it } from 'vitest';

const unavailable = labUnavailable();
const peerScript = fileURLToPath(new URL('../bench/lab-peer.mjs', import.meta.url));
const MiB = 1024 * 1024;
/** IPv4 + UDP headers: a 1280-byte link carries UDP payloads (our datagrams) of at most 1252 bytes. */
const LINK_MTU = 1280;
const MAX_DATAGRAM = LINK_MTU - 28;

async function blackHole(lab: NatLab): Promise<void> {
  await lab.exec('r1', 'nft', ['add', 'table', 'inet', 'pmtublackhole']);
  await lab.exec('r1', 'nft', [
    'add',
    'chain',
    'inet',
    'pmtublackhole',
    'out',
    '{ type filter hook output priority 0 ; }',
  ]);
  await lab.exec('r1', 'nft', [
    'add',
    'rule',
    'inet',
    'pmtublackhole',
    'out',
    'icmp',
    'type',
    'destination-unreachable',
    'drop',
  ]);
  await lab.exec('r1', 'ip', ['link', 'set', 'dev', 'wan', 'mtu', LINK_MTU]);
}

type PmtuInfo = { size: number; state: string; stats: { blackHoles: number; probesLost: number } };

describe.skipIf(unavailable !== undefined)(
  `path MTU discovery across the NAT lab${unavailable === undefined ? '' : ` (skipped: ${unavailable})`}`,
  () => {
    it('a 1280-byte link that drops silently: the search settles at ≤ 1252 bytes and the data arrives', async () => {
      if (!existsSync(fileURLToPath(new URL('../dist/node/index.js', import.meta.url)))) {
        throw new Error('the lab peers import ../dist: run `pnpm run build` first');
      }
      const lab = await NatLab.up('ei', 'public');
      try {
        await blackHole(lab);
        const receiver = lab.node('p2', peerScript, ['recv', 'pilot', 7000, 0]);
        await receiver.event('ready');
        const sender = lab.node(
          'p1',
          peerScript,
          ['send', 'pilot-pmtud', lab.localIp('p2'), 7000, 4 * MiB, 42],
          { env: { LAB_PMTU_PROBE_MS: '200' } },
        );
        const pmtu = (await sender.event('pmtu', 60_000)) as LabLine & PmtuInfo;
        expect(pmtu.state).toBe('complete');
        expect(pmtu.size).toBeLessThanOrEqual(MAX_DATAGRAM);
        expect(pmtu.size).toBeGreaterThan(MAX_DATAGRAM - 16);
        const sent = await sender.event('sent', 60_000);
        const done = await receiver.event('done', 60_000);
        expect(done.sha256).toBe(sent.sha256);
      } finally {
        await lab.close();
      }
    }, 120_000);

    it('the path shrinks mid-transfer: back to 1200 at the first timeout, a new search, the transfer completes', async () => {
      const lab = await NatLab.up('ei', 'public');
      try {
        const receiver = lab.node('p2', peerScript, ['recv', 'pilot', 7000, 0]);
        await receiver.event('ready');
        const sender = lab.node(
          'p1',
          peerScript,
          ['send', 'pilot-pmtud', lab.localIp('p2'), 7000, 32 * MiB, 43],
          { env: { LAB_PMTU_PROBE_MS: '200', LAB_STATS_MS: '100' } },
        );
        const before = (await sender.event('pmtu', 60_000)) as LabLine & PmtuInfo;
        expect(before.size).toBe(1472);
        await sender.event('connected', 30_000);
        await new Promise((resolve) => setTimeout(resolve, 300));
        await blackHole(lab);
        const sent = await sender.event('sent', 120_000);
        const done = await receiver.event('done', 120_000);
        expect(done.sha256).toBe(sent.sha256);
        await new Promise((resolve) => setTimeout(resolve, 300)); // one more stats line
        const stats = sender.lines.filter((line) => line.event === 'stats' && line.pmtu !== undefined);
        const last = stats.at(-1)?.pmtu as PmtuInfo | undefined;
        expect(last?.stats.blackHoles ?? 0).toBeGreaterThanOrEqual(1);
        expect(last?.size ?? 0).toBeLessThanOrEqual(MAX_DATAGRAM);
      } finally {
        await lab.close();
      }
    }, 180_000);
  },
);
