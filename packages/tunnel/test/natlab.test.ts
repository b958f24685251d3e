// The tunnel layer across real NATs: /work/shared/natlab (network namespaces, nftables masquerade)
// through @pilot/testkit/natlab. Root only; skipped with the reason otherwise. Each case builds its
// own lab (a rendezvous in `pub`, one agent behind each router) and tears it down whatever happens.
// The agents run the TunnelManager compiled from src into test/lab/.build (tsc, ~5 s).
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import {
  LAB_PUBLIC_IP,
  type LabLine,
  type LabProcess,
  labUnavailable,
  NatLab,
  type NatPlacement,
} from '@pilot/testkit/natlab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const unavailable = labUnavailable();
const labDir = fileURLToPath(new URL('./lab/', import.meta.url));
const buildDir = fileURLToPath(new URL('./lab/.build', import.meta.url));
const rendezvousScript = `${labDir}rendezvous.mjs`;
const agentScript = `${labDir}agent.mjs`;
/** Direct attempts (punch, then birthday probing) get this long before the relay takes over. */
const DIRECT_TIMEOUT_MS = 4000;
const KEEPALIVE_MS = 1000;

interface Row {
  readonly pair: string;
  readonly path: string;
  readonly setupMs: number;
  readonly mappings: string;
}
const rows: Row[] = [];

beforeAll(async () => {
  if (unavailable !== undefined) return;
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  await new Promise<void>((resolve, reject) => {
    execFile(
      process.execPath,
      [tsc, '-p', `${labDir}tsconfig.json`],
      { timeout: 120_000 },
      (error, stdout) =>
        error === null ? resolve() : reject(new Error(`compiling src for the lab failed: ${stdout}`)),
    );
  });
}, 150_000);

afterAll(() => {
  rmSync(buildDir, { recursive: true, force: true });
  if (rows.length > 0) {
    const lines = rows.map((r) => `| ${r.pair} | ${r.mappings} | ${r.path} | ${r.setupMs} |`);
    console.log(
      ['| p1 + p2 | mappings | path | setup_ms |', '| --- | --- | --- | --- |', ...lines].join('\n'),
    );
  }
});

interface Lab {
  readonly lab: NatLab;
  readonly p1: LabProcess;
  readonly p2: LabProcess;
  readonly ready1: LabLine;
  readonly ready2: LabLine;
}

async function withLab<T>(
  mode1: NatPlacement,
  mode2: NatPlacement,
  body: (lab: Lab) => Promise<T>,
): Promise<T> {
  const lab = await NatLab.up(mode1, mode2);
  try {
    const rendezvous = lab.node('pub', rendezvousScript, [LAB_PUBLIC_IP]);
    await rendezvous.event('ready', 15_000);
    const args = [LAB_PUBLIC_IP, DIRECT_TIMEOUT_MS, KEEPALIVE_MS];
    const p1 = lab.node('p1', agentScript, args);
    const p2 = lab.node('p2', agentScript, args);
    const [ready1, ready2] = await Promise.all([p1.event('ready', 20_000), p2.event('ready', 20_000)]);
    return await body({ lab, p1, p2, ready1, ready2 });
  } finally {
    await lab.close();
  }
}

const command = (agent: LabProcess, record: Record<string, unknown>): void =>
  agent.write(JSON.stringify(record));

/** The n-th (0-based) line of `event`. */
function nth(agent: LabProcess, event: string, n: number, ms: number): Promise<LabLine> {
  return agent.waitFor(
    (line) => line.event === event && agent.lines.filter((l) => l.event === event).indexOf(line) === n,
    ms,
    `${event} #${n}`,
  );
}

async function peerView(agent: LabProcess, node: unknown, n: number): Promise<LabLine> {
  command(agent, { cmd: 'peer', node });
  return nth(agent, 'peer', n, 5000);
}

const PAIRS: readonly (readonly [NatPlacement, NatPlacement])[] = [
  ['public', 'public'],
  ['public', 'fullcone'],
  ['public', 'ei'],
  ['public', 'sym'],
  ['fullcone', 'fullcone'],
  ['fullcone', 'ei'],
  ['fullcone', 'sym'],
  ['ei', 'ei'],
  ['ei', 'sym'],
  ['sym', 'sym'],
];

describe.skipIf(unavailable !== undefined)(
  `tunnels across the NAT lab${unavailable === undefined ? '' : ` (skipped: ${unavailable})`}`,
  () => {
    it.each(PAIRS)(
      '%s + %s: connects (direct unless both are symmetric) and moves a stream intact',
      async (m1, m2) => {
        await withLab(m1, m2, async ({ p1, p2, ready1, ready2 }) => {
          command(p1, { cmd: 'connect', node: ready2.node_id });
          const tunnel = await p1.waitFor(
            (l) => l.event === 'tunnel' || l.event === 'tunnel-error',
            25_000,
            'the tunnel',
          );
          expect(tunnel.event, JSON.stringify(tunnel)).toBe('tunnel');
          const bothHard = m1 === 'sym' && m2 === 'sym';
          // Birthday probing may land after the relay took over: the tunnel then upgrades in place.
          let view = await peerView(p1, ready2.node_id, 0);
          for (let n = 1; !bothHard && view.relay === true && n < 40; n++) {
            await new Promise((resolve) => setTimeout(resolve, 250));
            view = await peerView(p1, ready2.node_id, n);
          }
          expect(view.relay, JSON.stringify(view)).toBe(bothHard);
          command(p1, { cmd: 'send', node: ready2.node_id, bytes: 256 * 1024, seed: `${m1}${m2}` });
          const [sent, received] = await Promise.all([
            p1.event('sent', 30_000),
            p2.event('received', 30_000),
          ]);
          expect(received.sha256).toBe(sent.sha256);
          expect(received.bytes).toBe(256 * 1024);
          rows.push({
            pair: `${m1} + ${m2}`,
            mappings: `${String(ready1.mapping)} / ${String(ready2.mapping)}`,
            path: tunnel.relay === true ? (view.relay === true ? 'relay' : 'relay → direct') : 'direct',
            setupMs: Math.round(Number(tunnel.setup_ms)),
          });
        });
      },
      90_000,
    );

    it('a stream survives mapping changes mid-transfer (r1 becomes symmetric, r2 forgets its conntrack)', async () => {
      await withLab('ei', 'ei', async ({ lab, p1, p2, ready2 }) => {
        command(p1, { cmd: 'connect', node: ready2.node_id });
        const tunnel = await p1.event('tunnel', 25_000);
        expect(tunnel.relay).toBe(false);
        const bytes = 2 * 1024 * 1024;
        command(p1, { cmd: 'send', node: ready2.node_id, bytes, seed: 'mapping-change', pauseMs: 10 });
        await p1.waitFor(
          (l) => l.event === 'progress' && Number(l.sent) >= 512 * 1024,
          30_000,
          '512 KiB sent',
        );
        await lab.nat('r1', 'sym');
        await p1.waitFor(
          (l) => l.event === 'progress' && Number(l.sent) >= 1024 * 1024,
          60_000,
          '1 MiB sent',
        );
        await lab.flushConntrack('r2');
        const [sent, received] = await Promise.all([p1.event('sent', 60_000), p2.event('received', 60_000)]);
        expect(received.bytes).toBe(bytes);
        expect(received.sha256).toBe(sent.sha256);
        // p1's packets now leave r1 from a new port: p2's tunnel followed the authenticated sender,
        // either at once (tunnel.moved) or, when p2 found the old path silent first and relayed
        // meanwhile (a loaded machine), back to the new direct path (tunnel.direct_restored).
        await p2.waitFor(
          (l) =>
            l.event === 'tunnel-event' && (l.type === 'tunnel.moved' || l.type === 'tunnel.direct_restored'),
          10_000,
          'tunnel.moved or tunnel.direct_restored on p2',
        );
        const events = (agent: LabProcess): string =>
          agent.lines
            .filter((l) => l.event === 'tunnel-event')
            .map((l) => String(l.type))
            .join(', ');
        command(p1, { cmd: 'stats' });
        const stats = (await p1.event('stats', 5000)).stats as Record<string, number>;
        console.log(
          `mapping change: p1 events [${events(p1)}], p2 events [${events(p2)}], p1 birthday hits ${stats.birthday_hit ?? 0}, relay frames ${stats.relay_sent ?? 0}`,
        );
      });
    }, 120_000);
  },
);
