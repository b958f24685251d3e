// Scenario 3 of SECURITY.md's flood suite, with real processes in the NAT lab: pilot-rendezvous in
// `pub`, two pilot-daemons behind symmetric NATs (sym + sym: no direct path, their tunnel is relayed
// by the beacon), and an attacker process of this test's own in `pub` that claims the victim's node
// ID at the beacon (bare and padded reference discovers, and discovers with a forged proof of
// identity), 50 a second for 8 s, from its own address. The reference beacon believes the latest
// claim, so the victim's relayed frames would go to the attacker. Proven: the echo session through
// the relay keeps answering throughout (no round trip over 3 s), the attacker receives none of the
// victim's frames, the tunnel is still relayed afterwards, and the beacon counted the refused claims.
// Root only (the NAT lab); skipped with the reason otherwise.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LAB_PUBLIC_IP, labUnavailable, NatLab } from '@pilot/testkit/natlab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  dial,
  echo,
  ensureBuilt,
  type LabDaemon,
  peerOf,
  startDaemon,
  startRendezvous,
  stopDaemon,
  trust,
} from '../lab/lab-daemons.js';

// net.Socket's destroy path touches process.stderr: open it before the leak check's baseline.
void process.stderr;

const ATTACKER = fileURLToPath(new URL('./discover-spoof.mjs', import.meta.url));
const HEALTH = `${LAB_PUBLIC_IP}:9080`;
const unavailable = labUnavailable();
const dir = mkdtempSync(join(tmpdir(), 'pilot-discover-spoof-'));

beforeAll(() => {
  if (unavailable === undefined) ensureBuilt();
}, 150_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function beaconStats(lab: NatLab): Promise<Record<string, number>> {
  const probe = lab.node('pub', '-e', [
    `fetch('http://${HEALTH}/healthz').then((r) => r.json()).then((h) => console.log(JSON.stringify({ event: 'health', stats: h.beacon.stats })))`,
  ]);
  const line = await probe.event('health', 10_000);
  return line.stats as Record<string, number>;
}

describe.skipIf(unavailable !== undefined)(
  `scenario 3: spoofed discovers for a relayed node${unavailable === undefined ? '' : ` (skipped: ${unavailable})`}`,
  () => {
    it('sym + sym through the relay: the victim’s session is not moved, its frames never reach the attacker', async () => {
      const lab = await NatLab.up('sym', 'sym');
      const daemons: LabDaemon[] = [];
      try {
        await startRendezvous(lab, join(dir, 'rendezvous'), ['--http', HEALTH]);
        const [alpha, beta] = await Promise.all([
          startDaemon(lab, 'p1', dir, 'alpha'),
          startDaemon(lab, 'p2', dir, 'beta'),
        ]);
        daemons.push(alpha, beta);
        await trust(alpha, beta);
        await echo(alpha, beta.nodeId, 3);
        expect((await peerOf(alpha, beta.nodeId))?.relay, 'sym + sym is relayed').toBe(true);
        // Each daemon proved its identity to the beacon (a discover signed with its node key).
        expect((await beaconStats(lab)).provenDiscovers).toBeGreaterThanOrEqual(2);

        // One echo session through the relay, pinged every 100 ms while the attacker claims beta.
        const conn = await dial(alpha, beta.nodeId, 7);
        const attacker = lab.node('pub', ATTACKER, [LAB_PUBLIC_IP, 9001, beta.nodeId, 8, 50]);
        await attacker.event('started');
        const rtts: number[] = [];
        const until = performance.now() + 9000;
        for (let n = 0; performance.now() < until; n++) {
          const data = new TextEncoder().encode(`ping ${n}`);
          const started = performance.now();
          alpha.ipc.send({ type: 'send', connId: conn, data });
          const back = await alpha.ipc.read(conn, data.length, 20_000);
          rtts.push(performance.now() - started);
          expect(back.toString()).toBe(`ping ${n}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        await alpha.ipc.request({ type: 'close', connId: conn });
        const done = await attacker.event('done', 15_000);
        const received = done.received as Record<string, number>;
        const stats = await beaconStats(lab);
        console.log(
          `scenario 3: attacker sent ${String(done.sent)} discovers for node ${beta.nodeId}, received ${JSON.stringify(received)}; ` +
            `${rtts.length} echo round trips through the relay, max ${Math.round(Math.max(...rtts))} ms; ` +
            `beacon droppedUnproven ${stats.droppedUnproven}, droppedBadProof ${stats.droppedBadProof}`,
        );
        expect(Number(done.sent)).toBeGreaterThan(300);
        // Not one of beta's relayed frames (relay deliveries, type 6), nor a punch command (4), reached the attacker.
        expect(received['6'] ?? 0).toBe(0);
        expect(received['4'] ?? 0).toBe(0);
        expect(rtts.length).toBeGreaterThan(40);
        expect(Math.max(...rtts)).toBeLessThan(3000);
        // The claims were refused as unproven (reference-style discovers) or as bad proofs.
        expect((stats.droppedUnproven ?? 0) + (stats.droppedBadProof ?? 0)).toBeGreaterThan(100);
        // Still relayed, still answering.
        expect((await peerOf(alpha, beta.nodeId))?.relay).toBe(true);
        await echo(alpha, beta.nodeId, 3);
      } catch (error) {
        for (const d of daemons) console.error(`--- ${d.name} stderr ---\n${d.process.stderr.slice(-4000)}`);
        throw error;
      } finally {
        await Promise.all(daemons.map((d) => stopDaemon(d).catch(() => {})));
        await lab.close();
      }
    }, 120_000);
  },
);
