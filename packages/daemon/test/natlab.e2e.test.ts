// End to end across real NATs, with the real programs: the rendezvous (registry + beacon + a second
// reflector port) in the lab's `pub` namespace and a daemon behind each router, each with its own
// PILOT_HOME, identity and IPC socket. The test drives them through their sockets with raw IPC frames:
// trust through the registry relay, echo, a file through data exchange (sha256 checked on arrival in
// <home>/received), and the path (direct or relay) from Info's peer_list. Root only (the NAT lab);
// skipped with the reason otherwise.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labUnavailable, NatLab, type NatPlacement } from '@pilot/testkit/natlab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  echo,
  ensureBuilt,
  eventually,
  info,
  type LabDaemon,
  payload,
  peerOf,
  receivedSha256,
  sendFile,
  sha256,
  startDaemon,
  startRendezvous,
  stopDaemon,
  trust,
} from './lab/lab-daemons.js';

// net.Socket's destroy path touches process.stderr: open it before the leak check's baseline.
void process.stderr;

const unavailable = labUnavailable();
const dir = mkdtempSync(join(tmpdir(), 'pilot-e2e-lab-'));

interface Row {
  readonly pair: string;
  readonly mappings: string;
  readonly via: string;
  readonly path: string;
  readonly setupMs: number;
  readonly echoMs: number;
  readonly fileMiBps: number;
  readonly totalS: number;
}
const rows: Row[] = [];

beforeAll(() => {
  if (unavailable === undefined) ensureBuilt();
}, 150_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  if (rows.length > 0) {
    const head = '| p1 + p2 | mappings | handshake via | path | setup_ms | echo ms | file MiB/s | case s |';
    const lines = rows.map(
      (r) =>
        `| ${r.pair} | ${r.mappings} | ${r.via} | ${r.path} | ${r.setupMs} | ${r.echoMs} | ${r.fileMiBps} | ${r.totalS} |`,
    );
    console.log([head, '| --- | --- | --- | --- | --- | --- | --- | --- |', ...lines].join('\n'));
  }
  // Spawning re-references the worker's IPC channel; give the leak check its baseline back.
  process.channel?.unref();
});

interface Pair {
  readonly lab: NatLab;
  readonly d1: LabDaemon;
  readonly d2: LabDaemon;
}

let cases = 0;

async function withPair<T>(
  m1: NatPlacement,
  m2: NatPlacement,
  body: (pair: Pair) => Promise<T>,
  reflector = true,
): Promise<T> {
  const caseDir = join(dir, `c${++cases}`);
  mkdirSync(caseDir);
  const lab = await NatLab.up(m1, m2);
  const daemons: LabDaemon[] = [];
  try {
    await startRendezvous(lab, join(caseDir, 'rendezvous'));
    const [d1, d2] = await Promise.all([
      startDaemon(lab, 'p1', caseDir, 'alpha', [], reflector),
      startDaemon(lab, 'p2', caseDir, 'beta', [], reflector),
    ]);
    daemons.push(d1, d2);
    return await body({ lab, d1, d2 });
  } catch (error) {
    // What the daemons logged is the first thing to read when a case fails.
    for (const d of daemons) console.error(`--- ${d.name} stderr ---\n${d.process.stderr.slice(-4000)}`);
    throw error;
  } finally {
    await Promise.all(daemons.map((d) => stopDaemon(d).catch(() => {})));
    await lab.close();
  }
}

/** What the NAT in front of a placement looks like to the classification (public and full cone: easy). */
const mappingOf = (placement: NatPlacement): string => (placement === 'sym' ? 'hard' : 'easy');

const PAIRS: readonly (readonly [NatPlacement, NatPlacement, 'direct' | 'relay'])[] = [
  ['ei', 'ei', 'direct'],
  ['fullcone', 'sym', 'direct'],
  // Port-restricted + symmetric: no plain punch works; birthday probing (the NAT classified through
  // --reflector) finds a direct path, possibly after the relay took over (it then upgrades in place).
  ['ei', 'sym', 'direct'],
  ['sym', 'sym', 'relay'],
];

describe.skipIf(unavailable !== undefined)(
  `daemons across the NAT lab${unavailable === undefined ? '' : ` (skipped: ${unavailable})`}`,
  () => {
    it.each(PAIRS)(
      '%s + %s: trust via the registry, echo, a file with a matching sha256, path %s',
      async (m1, m2, expected) => {
        const started = performance.now();
        await withPair(m1, m2, async ({ d1, d2 }) => {
          // Each daemon classified its NAT against the beacon and the rendezvous's --stun-addr port.
          const mappings = await Promise.all(
            [d1, d2].map((d) =>
              eventually(
                async () => {
                  const mapping = (await info(d)).nat_mapping;
                  return mapping === '' ? undefined : String(mapping);
                },
                10_000,
                `${d.name}'s NAT classification`,
              ),
            ),
          );
          expect(mappings).toEqual([mappingOf(m1), mappingOf(m2)]);

          // Both private: alpha cannot resolve beta, so the request travels through the registry.
          const via = await trust(d1, d2);
          expect(via).toBe('registry');
          // Now that beta trusts alpha, the registry lets alpha find it by name.
          const found = await d1.ipc.json({ type: 'resolveHostname', hostname: d2.name });
          expect(found).toMatchObject({ node_id: d2.nodeId, address: d2.address });

          const rtts = await echo(d1, d2.nodeId, 5);
          const first = await peerOf(d1, d2.nodeId);
          expect(first, 'alpha has a tunnel to beta').toBeDefined();
          expect(first?.authenticated).toBe(true);
          expect(first?.encrypted).toBe(true);
          // Birthday probing may land after the relay took over: the tunnel then goes direct in place.
          const view =
            expected === 'direct'
              ? await eventually(
                  async () => {
                    const peer = await peerOf(d1, d2.nodeId);
                    return peer?.relay === false ? peer : undefined;
                  },
                  25_000,
                  'a direct path',
                  250,
                )
              : first;
          expect(view?.relay, JSON.stringify(view)).toBe(expected === 'relay');

          const bytes = expected === 'relay' ? 2 * 1024 * 1024 : 4 * 1024 * 1024;
          const file = payload(`${m1}+${m2}`, bytes + 77);
          const sendStart = performance.now();
          await sendFile(d1, d2.nodeId, 'pair.bin', file, 1024 * 1024);
          const seconds = (performance.now() - sendStart) / 1000;
          expect(await receivedSha256(d2, file.length)).toBe(sha256(file));

          const after = await peerOf(d1, d2.nodeId);
          // The tunnel's setup time is known on the side that asked for it (often beta, whose
          // approval went to alpha directly); birthday hits on either side show how it was found.
          const back = await peerOf(d2, d1.nodeId);
          const setupMs = Number(first?.setup_ms ?? back?.setup_ms ?? -1);
          const hits = await Promise.all(
            [d1, d2].map(async (d) => ((await info(d)).tunnel as Record<string, number>).birthday_hit ?? 0),
          );
          const path =
            (first?.relay === true ? (after?.relay === true ? 'relay' : 'relay → direct') : 'direct') +
            (hits.some((n) => n > 0) ? ' (birthday)' : '');
          expect(after?.relay).toBe(expected === 'relay');
          rows.push({
            pair: `${m1} + ${m2}`,
            mappings: mappings.join(' / '),
            via,
            path,
            setupMs: Math.round(setupMs),
            echoMs: Math.round(rtts.slice(1).reduce((a, b) => a + b, 0) / (rtts.length - 1)),
            fileMiBps: Math.round((file.length / 1024 / 1024 / seconds) * 10) / 10,
            totalS: Math.round((performance.now() - started) / 100) / 10,
          });
        });
      },
      60_000,
    );

    it('ei + sym without --reflector: the NAT stays unclassified, no birthday probing, the tunnel relays', async () => {
      await withPair(
        'ei',
        'sym',
        async ({ d1, d2 }) => {
          expect((await info(d1)).nat_mapping).toBe('');
          await trust(d1, d2);
          await echo(d1, d2.nodeId, 1);
          expect((await peerOf(d1, d2.nodeId))?.relay).toBe(true);
          expect(((await info(d1)).tunnel as Record<string, number>).birthday_started ?? 0).toBe(0);
        },
        false,
      );
    }, 60_000);

    it('a file transfer survives mapping changes mid-stream (r1 turns symmetric, r2 flushes conntrack)', async () => {
      await withPair('ei', 'ei', async ({ lab, d1, d2 }) => {
        await trust(d1, d2);
        await echo(d1, d2.nodeId, 1);
        expect((await peerOf(d1, d2.nodeId))?.relay).toBe(false);
        const file = payload('mapping-change', 6 * 1024 * 1024 + 5);
        await sendFile(d1, d2.nodeId, 'moving.bin', file, 512 * 1024, async (acked) => {
          if (acked === 2) await lab.nat('r1', 'sym');
          if (acked === 6) await lab.flushConntrack('r2');
        });
        expect(await receivedSha256(d2, file.length)).toBe(sha256(file));
        const seen = await peerOf(d2, d1.nodeId);
        const stats1 = (await info(d1)).tunnel as Record<string, number>;
        const stats2 = (await info(d2)).tunnel as Record<string, number>;
        console.log(
          `mapping change: beta sees alpha at ${String(seen?.endpoint)} (relay ${String(seen?.relay)}); ` +
            `alpha tunnel ${JSON.stringify(stats1)}; beta tunnel ${JSON.stringify(stats2)}`,
        );
        // Beta's tunnel followed alpha's authenticated packets to r1's new (symmetric) mapping.
        expect(String(seen?.endpoint)).toMatch(/^198\.18\.0\.10:/);
      });
    }, 90_000);
  },
);
