// End to end across real NATs, with the real programs and their default flags: the rendezvous
// (registry + beacon + its second reflector port, served and advertised by default) in the lab's
// `pub` namespace and a daemon behind each router, each with its own PILOT_HOME, identity and IPC
// socket (no --reflector: each learns the reflector from the registry and classifies its NAT). The test drives them through their sockets with raw IPC frames:
// trust through the registry relay, echo, a file through data exchange (sha256 checked on arrival in
// <home>/received), and the path (direct or relay) from Info's peer_list; on one pair also a refused
// handshake, datagrams both ways, pub/sub with topic filters, a 50 MiB file and a restarted daemon.
// Root only (the NAT lab); skipped with the reason otherwise.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labUnavailable, NatLab, type NatPlacement } from '@pilot/testkit/natlab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IpcErrorCode } from '../src/index.js';
import {
  bigPayload,
  datagram,
  dial,
  EventConnection,
  echo,
  ensureBuilt,
  eventText,
  eventually,
  filePieceBytes,
  info,
  type LabDaemon,
  outgoingRequests,
  payload,
  peerOf,
  receivedSha256,
  refusedDial,
  restartDaemon,
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
});

interface Pair {
  readonly lab: NatLab;
  readonly d1: LabDaemon;
  readonly d2: LabDaemon;
  /** SIGTERM, then the same program again with the same PILOT_HOME (stopped at the end like the others). */
  readonly restart: (daemon: LabDaemon) => Promise<LabDaemon>;
}

let cases = 0;

async function withPair<T>(
  m1: NatPlacement,
  m2: NatPlacement,
  body: (pair: Pair) => Promise<T>,
  rendezvousFlags: readonly string[] = [],
): Promise<T> {
  const caseDir = join(dir, `c${++cases}`);
  mkdirSync(caseDir);
  const lab = await NatLab.up(m1, m2);
  const daemons: LabDaemon[] = [];
  try {
    await startRendezvous(lab, join(caseDir, 'rendezvous'), rendezvousFlags);
    const [d1, d2] = await Promise.all([
      startDaemon(lab, 'p1', caseDir, 'alpha'),
      startDaemon(lab, 'p2', caseDir, 'beta'),
    ]);
    daemons.push(d1, d2);
    const restart = async (daemon: LabDaemon): Promise<LabDaemon> => {
      const again = await restartDaemon(lab, daemon);
      daemons.push(again);
      return again;
    };
    return await body({ lab, d1, d2, restart });
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
  // Port-restricted + symmetric: no plain punch works; birthday probing (the NAT classified against
  // the reflector the registry advertised, the intents vouched for by the registry) finds a direct
  // path, possibly after the relay took over (it then upgrades in place).
  ['ei', 'sym', 'direct'],
  ['sym', 'sym', 'relay'],
];

describe.skipIf(unavailable !== undefined)(
  `daemons across the NAT lab${unavailable === undefined ? '' : ` (skipped: ${unavailable})`}`,
  () => {
    // Each pair has a lab of its own and mostly waits (registration, classification, punching):
    // the four run side by side.
    it.concurrent.each(PAIRS)(
      '%s + %s: trust via the registry, echo, a file with a matching sha256, path %s',
      async (m1, m2, expected) => {
        const started = performance.now();
        await withPair(m1, m2, async ({ d1, d2 }) => {
          // Each daemon classified its NAT against the beacon and the reflector port the registry advertised.
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

    it('ei + fullcone: a refused handshake, then trust; datagrams, pub/sub, a 50 MiB file; beta restarted', async () => {
      const marks: string[] = [];
      let last = performance.now();
      const mark = (what: string): void => {
        const now = performance.now();
        marks.push(`${what} ${Math.round(now - last)} ms`);
        last = now;
      };
      await withPair('ei', 'fullcone', async ({ d1, d2, restart }) => {
        mark('setup');
        // Untrusted: beta is private, so the registry refuses alpha's Dial at once.
        expect(await refusedDial(d1, d2.nodeId, 7)).toBe(IpcErrorCode.NOT_TRUSTED);
        await d1.ipc.json({
          type: 'handshake',
          request: { action: 'send', node: d2.nodeId, justification: 'first try' },
        });
        await eventually(
          async () => {
            const pending = await d2.ipc.json({ type: 'handshake', request: { action: 'pending' } });
            return (pending.pending as { node_id: number }[]).some((p) => p.node_id === d1.nodeId)
              ? true
              : undefined;
          },
          20_000,
          'beta to receive the first request',
        );
        expect(
          await d2.ipc.json({
            type: 'handshake',
            request: { action: 'reject', node: d1.nodeId, reason: 'not you' },
          }),
        ).toMatchObject({ status: 'rejected', node_id: d1.nodeId });
        await eventually(
          () => (outgoingRequests(d1).includes(d2.nodeId) ? undefined : true),
          20_000,
          'alpha to learn the rejection',
        );
        const trusted = await d1.ipc.json({ type: 'handshake', request: { action: 'trusted' } });
        expect(trusted.trusted).toEqual([]);
        expect(await refusedDial(d1, d2.nodeId, 7)).toBe(IpcErrorCode.NOT_TRUSTED);
        mark('refused');
        // Asked again and approved: now alpha gets through.
        await trust(d1, d2);
        await echo(d1, d2.nodeId, 2);
        mark('trusted');

        // Datagrams both ways (RecvFrom names the sender and the port it was sent to).
        const toBeta = await datagram(d1, d2, 4000, 'datagram alpha → beta');
        expect(toBeta.remoteAddress.node).toBe(d1.nodeId);
        const toAlpha = await datagram(d2, d1, 4001, 'datagram beta → alpha');
        expect(toAlpha.remoteAddress.node).toBe(d2.nodeId);
        mark('datagrams');

        // Pub/sub on beta's event stream: two subscribers with different filters, and a publisher
        // (itself subscribed to everything: the sender does not get its own events).
        const sensors = await EventConnection.open(d1, d2.nodeId, 'sensors.*');
        const alerts = await EventConnection.open(d1, d2.nodeId, 'alerts');
        const publisher = await EventConnection.open(d1, d2.nodeId, '*');
        // Subscriptions travel on their own connections: publish a marker until both see one.
        const ready = Promise.all([
          sensors.next(20_000).then((e) => expect(e.topic).toBe('sensors.ready')),
          alerts.next(20_000).then((e) => expect(eventText(e)).toBe('ready')),
        ]);
        let settled = false;
        void ready.finally(() => {
          settled = true;
        });
        for (let n = 0; !settled && n < 40; n++) {
          publisher.publish('sensors.ready', 'ready');
          publisher.publish('alerts', 'ready');
          await Promise.race([ready.catch(() => {}), new Promise((r) => setTimeout(r, 250))]);
        }
        await ready;
        for (const [topic, text] of [
          ['sensors.temp', '21.5'],
          ['alerts', 'fire'],
          ['other.noise', 'x'],
          ['alerts.minor', 'not for an exact filter'],
          ['sensorsX', 'not in the namespace'],
          ['sensors.humidity', '40'],
          ['alerts', 'done'],
        ] as const)
          publisher.publish(topic, text);
        const real = async (connection: EventConnection, count: number): Promise<string[]> => {
          const got: string[] = [];
          while (got.length < count) {
            const event = await connection.next(20_000);
            if (eventText(event) !== 'ready') got.push(`${event.topic}=${eventText(event)}`);
          }
          return got;
        };
        expect(await real(sensors, 2)).toEqual(['sensors.temp=21.5', 'sensors.humidity=40']);
        expect(await real(alerts, 2)).toEqual(['alerts=fire', 'alerts=done']);
        expect(publisher.pendingBytes()).toBe(0);
        expect(((await info(d2)).eventstream as Record<string, number>).subscribers).toBe(3);
        await Promise.all([sensors.close(), alerts.close(), publisher.close()]);
        mark('pubsub');

        // 50 MiB through data exchange, in FILE frames of at most 16 MiB (as pilotctl send-file).
        const file = bigPayload('fifty', 50 * 1024 * 1024);
        const name = 'fifty.bin';
        await sendFile(d1, d2.nodeId, name, file, filePieceBytes(name), () => {}, 120_000);
        expect(await receivedSha256(d2, file.length)).toBe(sha256(file));
        mark('50 MiB');

        // Beta restarted (SIGTERM, same PILOT_HOME): same identity, so the same address; still
        // trusts alpha (trust.json); alpha reaches it again over a fresh tunnel.
        const again = await restart(d2);
        expect(again.nodeId).toBe(d2.nodeId);
        expect(again.address).toBe(d2.address);
        mark('restart');
        await eventually(
          async () => {
            try {
              await echo(d1, again.nodeId, 1);
              return true;
            } catch {
              // A dial may fail while alpha's tunnel still points at the old process: try again.
              return undefined;
            }
          },
          30_000,
          'alpha to reach the restarted beta',
          500,
        );
        const dg = await datagram(again, d1, 4002, 'beta is back');
        expect(dg.remoteAddress.node).toBe(again.nodeId);
        mark('reachable again');
        const id = await dial(again, d1.nodeId, 7);
        await again.ipc.request({ type: 'close', connId: id });
      });
      console.log(`ei + fullcone extended case: ${marks.join(', ')}`);
    }, 150_000);

    it('ei + sym with the rendezvous reflector off (--stun-addr off): the NAT stays unclassified, no birthday probing, the tunnel relays', async () => {
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
        ['--stun-addr', 'off'],
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
