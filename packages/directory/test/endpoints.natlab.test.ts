// A node names where peers reach it, and every resolver sends its tunnel packets there. In the NAT
// lab a registry runs in `pub` (198.18.0.1, and its own loopback), and a node in `p1` (a public host,
// 198.18.0.11) announces a host name, loopback, an unspecified address and `p2`'s address
// (198.18.0.21) as its endpoint: a resolver must be given p1's own address with the announced port,
// as the reference registry gives it (spec §7.3), and never what was announced. A node registering
// from pub's loopback keeps loopback (the quick start and the tests run so).
// Root only (the NAT lab); skipped with the reason otherwise.
import { fileURLToPath } from 'node:url';
import { LAB_PUBLIC_IP, type LabLine, labUnavailable, NatLab } from '@pilot/testkit/natlab';
import { describe, expect, it } from 'vitest';

const unavailable = labUnavailable();
const REGISTRY = fileURLToPath(new URL('./fixtures/lab-registry.mjs', import.meta.url));
const ANNOUNCE = fileURLToPath(new URL('./fixtures/lab-announce.mjs', import.meta.url));

type Announcement = { readonly listen?: string; readonly lan?: string };

/** Runs lab-announce.mjs in `place` against the registry; returns its line per announcement. */
async function announce(
  lab: NatLab,
  place: 'p1' | 'pub',
  host: string,
  port: number,
  announcements: readonly Announcement[],
): Promise<LabLine[]> {
  const proc = lab.node(place, ANNOUNCE, [host, port, JSON.stringify(announcements)]);
  await proc.waitFor((line) => line.done === true, 30_000, 'the announcements');
  return proc.lines.filter((line) => line.done !== true);
}

describe.skipIf(unavailable !== undefined)(`announced endpoints (${unavailable ?? 'NAT lab'})`, () => {
  it('hands out the registering host with the announced port, whatever host was announced', async () => {
    const lab = await NatLab.up('public', 'public');
    try {
      const registry = lab.node('pub', REGISTRY, ['0.0.0.0']);
      const port = Number((await registry.waitFor((line) => typeof line.port === 'number', 20_000)).port);
      const p1 = lab.publicIp('p1');
      const thirdParty = lab.publicIp('p2');

      const remote = await announce(lab, 'p1', LAB_PUBLIC_IP, port, [
        { listen: 'localhost:4001' },
        { listen: '127.0.0.1:4002' },
        { listen: `${thirdParty}:4003` },
        { listen: `${LAB_PUBLIC_IP}:4004` },
        { listen: '[::1]:4005' },
        { listen: '0.0.0.0:4006' },
        { listen: `${p1}:4007` },
        { lan: '127.0.0.1:4008' },
        { lan: 'localhost:4009' },
        { lan: '0.0.0.0:4010' },
      ]);
      const given = (announced: number) => ({
        observed: `${p1}:${announced}`,
        resolved: `${p1}:${announced}`,
        lookup: `${p1}:${announced}`,
        lanAddrs: [],
      });
      expect(remote).toEqual([
        { listen: 'localhost:4001', ...given(4001) },
        { listen: '127.0.0.1:4002', ...given(4002) },
        { listen: `${thirdParty}:4003`, ...given(4003) },
        { listen: `${LAB_PUBLIC_IP}:4004`, ...given(4004) },
        { listen: '[::1]:4005', ...given(4005) },
        { listen: '0.0.0.0:4006', ...given(4006) },
        { listen: `${p1}:4007`, ...given(4007) },
        { lan: '127.0.0.1:4008', code: 'DIR_BAD_ENDPOINT' },
        { lan: 'localhost:4009', code: 'DIR_BAD_ENDPOINT' },
        { lan: '0.0.0.0:4010', code: 'DIR_BAD_ENDPOINT' },
      ]);

      // From the registry host's own loopback: loopback is what that node's peers (on this host) use.
      const local = await announce(lab, 'pub', '127.0.0.1', port, [
        { listen: '127.0.0.1:4011', lan: '127.0.0.1:4011' },
        { listen: `${thirdParty}:4012` },
      ]);
      expect(local.map((line) => [line.resolved, line.lanAddrs])).toEqual([
        ['127.0.0.1:4011', ['127.0.0.1:4011']],
        ['127.0.0.1:4012', []],
      ]);
    } finally {
      await lab.close();
    }
  }, 90_000);
});
