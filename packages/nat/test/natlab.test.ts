// Real NATs: /work/shared/natlab (network namespaces, nftables masquerade). Root only; skipped
// with the reason otherwise. Each case builds its own lab and tears it down, whatever happens.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  type LabProcess,
  labUnavailable,
  NatLab,
  type NatPlacement,
  publicIpOf,
} from '@pilot/testkit/natlab';
import { afterAll, describe, expect, it } from 'vitest';

const unavailable = labUnavailable();
const beaconScript = fileURLToPath(new URL('./lab/beacon.mjs', import.meta.url));
const agentScript = fileURLToPath(new URL('./lab/agent.mjs', import.meta.url));
const keepaliveScript = fileURLToPath(new URL('./lab/keepalive.mjs', import.meta.url));

interface PairResult {
  readonly modes: readonly [string, string];
  readonly path: [string, string];
  readonly ms: number;
  readonly authMs: number;
}

const results: PairResult[] = [];

async function pair(
  mode1: NatPlacement,
  mode2: NatPlacement,
  beforePunch?: (lab: NatLab, p1: LabProcess) => Promise<Record<string, Record<string, unknown>>>,
): Promise<Record<string, Record<string, unknown>>> {
  if (!existsSync(fileURLToPath(new URL('../dist/index.js', import.meta.url)))) {
    throw new Error('the lab scripts import ../dist: run `pnpm run build` first');
  }
  const lab = await NatLab.up(mode1, mode2);
  try {
    const beacon = lab.node('pub', beaconScript, []);
    await beacon.event('ready', 5000);
    const p1 = lab.node('p1', agentScript, [101, 202, 40000]);
    const p2 = lab.node('p2', agentScript, [202, 101, 40000]);
    await Promise.all([p1.event('ready'), p2.event('ready')]);
    const extra = beforePunch === undefined ? {} : await beforePunch(lab, p1);
    const mapping1 = extra.rediscover1?.mapping ?? (await p1.event('classify')).mapping;
    // The peers' NAT mappings, as a registry would carry them (not part of the beacon protocol).
    p1.write(`peer ${String((await p2.event('classify')).mapping)}`);
    p2.write(`peer ${String(mapping1)}`);
    p1.write('punch');
    const [c1, c2] = await Promise.all([p1.event('connected', 8000), p2.event('connected', 8000)]);
    // Over the path found: PILA both ways (checked against each side's Ed25519 key) and a PILS-sealed byte.
    const [a1, a2] = await Promise.all([
      p1.event('authenticated', 10_000),
      p2.event('authenticated', 10_000),
    ]);
    expect(a1.path).toBe(c1.path);
    expect(a2.path).toBe(c2.path);
    expect(p1.lines.filter((line) => line.event === 'rejected')).toEqual([]);
    expect(p2.lines.filter((line) => line.event === 'rejected')).toEqual([]);
    const out = {
      discover1: await p1.event('discover'),
      discover2: await p2.event('discover'),
      classify1: await p1.event('classify'),
      classify2: await p2.event('classify'),
      connected1: c1,
      connected2: c2,
      ...extra,
    };
    const how = (line: Record<string, unknown>): string =>
      line.via === undefined ? String(line.path) : `${String(line.path)}(${String(line.via)})`;
    results.push({
      modes: [mode1, mode2],
      path: [how(c1), how(c2)],
      ms: Number(c1.ms),
      authMs: Number(a1.ms),
    });
    beacon.end();
    return out;
  } finally {
    await lab.close();
  }
}

function reflexiveIp(line: Record<string, unknown>): string {
  return (line.reflexive as { address: string }).address;
}

describe.skipIf(unavailable !== undefined)(
  `NAT lab${unavailable === undefined ? '' : ` (skipped: ${unavailable})`}`,
  () => {
    afterAll(() => {
      if (results.length > 0)
        console.log(
          `\n${results.map((r) => `${r.modes.join('+').padEnd(17)} ${r.path.join(' / ').padEnd(36)} ${r.ms} ms, authenticated ${r.authMs} ms`).join('\n')}`,
        );
    });

    it("ei + ei: discover gives each router's WAN address, both easy, punch connects directly", async () => {
      const out = await pair('ei', 'ei');
      expect(reflexiveIp(out.discover1!)).toBe(publicIpOf('p1', 'ei'));
      expect(reflexiveIp(out.discover2!)).toBe(publicIpOf('p2', 'ei'));
      expect(out.classify1!.mapping).toBe('easy');
      expect(out.classify2!.mapping).toBe('easy');
      expect(out.connected1!.path).toBe('direct');
      expect(out.connected2!.path).toBe('direct');
    });

    it('fullcone + sym: easy vs hard, and a direct path because each side answers where packets came from', async () => {
      const out = await pair('fullcone', 'sym');
      expect(reflexiveIp(out.discover2!)).toBe(publicIpOf('p2', 'sym'));
      expect(out.classify1!.mapping).toBe('easy');
      expect(out.classify2!.mapping).toBe('hard');
      expect(out.connected1!.path).toBe('direct');
      expect(out.connected2!.path).toBe('direct');
    });

    it('sym + sym: both hard, punching fails, the beacon relays', async () => {
      const out = await pair('sym', 'sym');
      expect(out.classify1!.mapping).toBe('hard');
      expect(out.classify2!.mapping).toBe('hard');
      expect(out.connected1!.path).toBe('relay');
      expect(out.connected2!.path).toBe('relay');
    });

    it('ei + sym: easy vs hard, birthday probing finds a direct path (the reference relays here)', async () => {
      const out = await pair('ei', 'sym');
      expect(out.classify1!.mapping).toBe('easy');
      expect(out.classify2!.mapping).toBe('hard');
      expect(out.connected1!.path).toBe('direct');
      expect(out.connected2!.path).toBe('direct');
      // The hard side's winning socket is one of its birthday sockets; the easy side cannot tell which
      // of its attempts (the plain punch listens on the same socket) saw the frame first.
      expect(out.connected2!.via).toBe('birthday');
    });

    it('a mapping change (r1 switches ei → sym, conntrack flushed): the node re-registers, the beacon follows, punching still connects', async () => {
      const out = await pair('ei', 'ei', async (lab, p1) => {
        await lab.nat('r1', 'sym');
        p1.write('rediscover');
        return { rediscover1: await p1.event('rediscover') };
      });
      const last = results.pop();
      if (last !== undefined) results.push({ ...last, modes: ['ei→sym', 'ei'] });
      const before = out.discover1!.reflexive as { address: string; port: number };
      const after = out.rediscover1!.reflexive as { address: string; port: number };
      expect(after.address).toBe(publicIpOf('p1', 'sym'));
      expect(after.port).not.toBe(before.port);
      expect(out.rediscover1!.mapping).toBe('hard');
      // The command p2 got carries p1's new endpoint, and ei + sym connects by birthday probing.
      expect(out.connected1!.path).toBe('direct');
      expect(out.connected2!.path).toBe('direct');
    });

    it('keepalives through a real NAT report the new mapping after the router changes (ei → sym)', async () => {
      const lab = await NatLab.up('ei', 'public');
      try {
        const beacon = lab.node('pub', beaconScript, []);
        await beacon.event('ready', 5000);
        const p1 = lab.node('p1', keepaliveScript, [101, 40000, 200]);
        const first = await p1.event('endpoint');
        expect(first).toMatchObject({ address: publicIpOf('p1', 'ei'), port: 40000, changed: false });
        await lab.nat('r1', 'sym');
        const moved = await p1.event('changed', 10_000);
        expect(moved.address).toBe(publicIpOf('p1', 'sym'));
        expect(moved.port).not.toBe(40000);
        p1.end();
        beacon.end();
        expect((await p1.exited).code).toBe(0);
      } finally {
        await lab.close();
      }
    });

    // The rest of the matrix over {public, fullcone, ei, sym}: every pair with at most one symmetric
    // side connects directly.
    it.each([
      ['public', 'public'],
      ['public', 'fullcone'],
      ['public', 'ei'],
      ['fullcone', 'fullcone'],
      ['fullcone', 'ei'],
    ] as const)('%s + %s: direct', async (mode1, mode2) => {
      const out = await pair(mode1, mode2);
      expect(out.connected1!.path).toBe('direct');
      expect(out.connected2!.path).toBe('direct');
    });

    it('public + sym: no NAT on one side, direct', async () => {
      const out = await pair('public', 'sym');
      expect(reflexiveIp(out.discover1!)).toBe(publicIpOf('p1', 'public'));
      expect(out.classify1!.mapping).toBe('easy');
      expect(out.connected1!.path).toBe('direct');
      expect(out.connected2!.path).toBe('direct');
    });
  },
);
