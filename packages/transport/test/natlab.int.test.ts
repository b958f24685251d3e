// Across the NAT lab (/work/shared/natlab): p1 behind an endpoint-independent NAT, p2 a public host,
// and r1's WAN link run through impair-wire.py (delay, loss, reordering). Root only; skipped with
// the reason otherwise. Each case builds its own lab and tears it down, whatever happens.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ImpairedLab, labUnavailable, RECEIVER_HOST } from '../bench/impaired-lab.mjs';

const unavailable = labUnavailable();
const peerScript = fileURLToPath(new URL('../bench/lab-peer.mjs', import.meta.url));

describe.skipIf(unavailable !== undefined)(
  `across the NAT lab with impair-wire.py${unavailable === undefined ? '' : ` (skipped: ${unavailable})`}`,
  () => {
    it('a sealed stream crosses the NAT intact through 40 ms RTT, 3 % loss and reordering', async () => {
      if (!existsSync(fileURLToPath(new URL('../dist/node/index.js', import.meta.url)))) {
        throw new Error('the lab peers import ../dist: run `pnpm run build` first');
      }
      const lab = await ImpairedLab.up();
      try {
        // 20 ms each way, 3 % of frames dropped in each direction, 0–3 ms jitter (reorders frames).
        await lab.impair(20, 3, 3);
        const receiver = lab.node('p2', peerScript, ['recv', 'pilot', 7000, 0]);
        await receiver.event('ready');
        const sender = lab.node('p1', peerScript, ['send', 'pilot', RECEIVER_HOST, 7000, 1024 * 1024, 42]);
        const sent = await sender.event('sent', 30_000);
        const done = await receiver.event('done', 40_000);
        expect(done.bytes).toBe(1024 * 1024);
        expect(done.sha256).toBe(sent.sha256);
        console.log(`1 MiB across the impaired NAT lab in ${Math.round(Number(done.ms))} ms`);
      } finally {
        await lab.close();
      }
    }, 60_000);
  },
);
