// The NAT lab helpers against the real lab (root only; skipped with the reason otherwise).
import { describe, expect, it } from 'vitest';
import { LAB_PUBLIC_IP, labUnavailable, NatLab, natlabScript } from '../src/natlab/index.js';

const unavailable = labUnavailable();
const impairUnavailable = labUnavailable({ impair: true });
// The scripts run compiled (node cannot run .ts here): they come from dist/.
const reflector = natlabScript('udp-reflector').replace('/src/', '/dist/');
const probe = natlabScript('udp-probe').replace('/src/', '/dist/');

describe.skipIf(unavailable !== undefined)(
  `NatLab${unavailable === undefined ? '' : ` (skipped: ${unavailable})`}`,
  () => {
    it('places peers, maps them through the router, and follows a NAT change and a conntrack flush', async () => {
      const lab = await NatLab.up('sym', 'public');
      try {
        expect(lab.publicIp('p1')).toBe('198.18.0.10');
        expect(lab.localIp('p1')).toBe('10.1.0.2');
        expect(lab.publicIp('p2')).toBe('198.18.0.21');
        const server = lab.node('pub', reflector, [LAB_PUBLIC_IP, 3478]);
        await server.event('ready');
        const p1 = lab.node('p1', probe, [LAB_PUBLIC_IP, 3478, 40000]);
        const p2 = lab.node('p2', probe, [LAB_PUBLIC_IP, 3478, 40000]);
        const first = await p1.event('reflexive');
        expect(first.address).toBe('198.18.0.10');
        expect((await p2.event('reflexive')).address).toBe('198.18.0.21');
        expect((await p2.event('reflexive')).port).toBe(40000);

        // sym → ei keeps the port (40000 is free on the WAN side), after conntrack is flushed.
        await lab.nat('r1', 'ei');
        expect(lab.placement('p1')).toBe('ei');
        p1.write('probe');
        const second = await p1.waitFor((line) => line.event === 'reflexive' && line.n === 2);
        expect(second).toMatchObject({ address: '198.18.0.10', port: 40000 });

        // back to sym and flush again: a random port, different from the port-preserving one.
        await lab.nat('r1', 'sym');
        await lab.flushConntrack('r1');
        p1.write('probe');
        const third = await p1.waitFor((line) => line.event === 'reflexive' && line.n === 3);
        expect(third.address).toBe('198.18.0.10');

        const { stdout } = await lab.exec('p1', 'ip', ['-o', 'addr', 'show', 'eth0']);
        expect(stdout).toContain('10.1.0.2/24');
        server.end();
        p1.end();
        p2.end();
        expect((await p1.exited).code).toBe(0);
      } finally {
        await lab.close();
      }
    });

    it.skipIf(impairUnavailable !== undefined)(
      `impair() delays the link and the peer stays reachable${impairUnavailable === undefined ? '' : ` (skipped: ${impairUnavailable})`}`,
      async () => {
        const lab = await NatLab.up('ei', 'public');
        try {
          await lab.impair('p1', { delayMs: 40, lossPercent: 0, jitterMs: 1 });
          await lab.impair('p2', { delayMs: 10 });
          const server = lab.node('pub', reflector, [LAB_PUBLIC_IP, 3478]);
          await server.event('ready');
          const p1 = lab.node('p1', probe, [LAB_PUBLIC_IP, 3478]);
          // Two crossings of the 40 ms wire per round trip, whatever the load (a lower bound only).
          expect(Number((await p1.event('reflexive', 20_000)).ms)).toBeGreaterThanOrEqual(79);
          const p2 = lab.node('p2', probe, [LAB_PUBLIC_IP, 3478]);
          expect((await p2.event('reflexive', 20_000)).address).toBe('198.18.0.21');
          // Changing the impairment restarts the wire on the same TAPs.
          await lab.impair('p1', { delayMs: 0, lossPercent: 0 });
          p1.write('probe');
          const again = await p1.waitFor((line) => line.event === 'reflexive' && line.n === 2, 20_000);
          expect(again.address).toBe('198.18.0.10');
          server.end();
          p1.end();
          p2.end();
        } finally {
          await lab.close();
        }
      },
    );
  },
);
