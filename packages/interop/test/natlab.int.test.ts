import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  LAB_BEACON,
  LAB_REGISTRY,
  type LabPeer,
  type LabProcess,
  labUnavailable,
  NatLab,
  type NatPlacement,
  startLabDaemon,
  startLabRendezvous,
} from '@pilot/testkit/natlab';
import { afterAll, describe, inject, it } from 'vitest';
import { type CtlResult, IMPL_NAME, type Impl, runCtl, tempDir } from './support/cluster.js';
import { referenceBinOrThrow } from './support/global-setup.js';
import { eventually } from './support/processes.js';

const unavailable = labUnavailable();

type LabNode = {
  readonly impl: Impl;
  readonly home: string;
  readonly socket: string;
  nodeId: number;
  ctl(args: readonly string[], timeoutMs?: number): Promise<CtlResult>;
};

/** A reference daemon behind `peer`'s router, registered with the lab's rendezvous. */
async function startReferenceDaemon(
  lab: NatLab,
  bin: string,
  peer: LabPeer,
  dir: string,
  name: string,
): Promise<LabNode> {
  const home = join(dir, name);
  mkdirSync(home, { recursive: true });
  const socket = join(dir, `${name}.sock`);
  const process = lab.spawn(
    peer,
    join(bin, 'daemon'),
    [
      '-registry',
      LAB_REGISTRY,
      '-beacon',
      LAB_BEACON,
      '-listen',
      ':0',
      '-socket',
      socket,
      '-identity',
      join(home, 'identity.json'),
      '-hostname',
      name,
      '-email',
      `${name}@example.com`,
      '-keepalive',
      '2s',
    ],
    { env: { HOME: home } },
  );
  const node: LabNode = {
    impl: 'ref',
    home,
    socket,
    nodeId: 0,
    ctl: (args, timeoutMs) => runCtl('ref', bin, { home, socket }, LAB_REGISTRY, args, timeoutMs),
  };
  node.nodeId = await eventually(
    `${name} answering info`,
    async () => {
      if (!process.running) throw new Error(`exited: ${process.stderr.slice(-2000)}`);
      const r = await node.ctl(['info'], 10_000);
      return r.ok && Number(r.data.node_id) > 0 ? Number(r.data.node_id) : undefined;
    },
    40_000,
  );
  return node;
}

async function startReferenceRendezvous(lab: NatLab, bin: string, dir: string): Promise<LabProcess> {
  const rendezvous = lab.spawn('pub', join(bin, 'rendezvous'), [
    '-registry-addr',
    LAB_REGISTRY,
    '-beacon-addr',
    LAB_BEACON,
    '-store',
    join(dir, 'registry.json'),
  ]);
  await eventually(
    'the reference rendezvous',
    async () => {
      if (!rendezvous.running) throw new Error(`exited: ${rendezvous.stderr.slice(-2000)}`);
      return rendezvous.stderr.includes('registry listening') ? true : undefined;
    },
    20_000,
    200,
  );
  return rendezvous;
}

/** Ping replies and the path our pilotctl reports ('direct' | 'relay'); the reference's has no path. */
async function ping(from: LabNode, to: LabNode): Promise<{ replies: number; path: string | undefined }> {
  const r = await from.ctl(['ping', String(to.nodeId), '--count', '3', '--timeout', '20s'], 40_000);
  const results = Array.isArray(r.data.results)
    ? (r.data.results as { rtt_ms?: number; error?: string }[])
    : [];
  return {
    replies: results.filter((x) => typeof x.rtt_ms === 'number' && x.error === undefined).length,
    path: typeof r.data.path === 'string' ? r.data.path : undefined,
  };
}

type Case = {
  readonly registry: Impl;
  readonly ts: NatPlacement;
  readonly ref: NatPlacement;
  readonly direct: boolean;
};

const CASES: readonly Case[] = [
  { registry: 'ts', ts: 'ei', ref: 'ei', direct: true },
  { registry: 'ts', ts: 'ei', ref: 'sym', direct: false },
  { registry: 'ts', ts: 'sym', ref: 'sym', direct: false },
  { registry: 'ref', ts: 'ei', ref: 'ei', direct: true },
  { registry: 'ref', ts: 'sym', ref: 'ei', direct: false },
  { registry: 'ref', ts: 'sym', ref: 'sym', direct: false },
];

describe.skipIf(unavailable !== undefined)(
  `NAT lab${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    afterAll(() => process.channel?.unref());

    for (const c of CASES) {
      it.concurrent(`${IMPL_NAME[c.registry]} rendezvous and beacon: pilot-ts behind ${c.ts}, reference behind ${c.ref} — trust and ping both ways${c.direct ? ', direct' : ''}`, async ({
        expect,
      }) => {
        const bin = referenceBinOrThrow(inject('referenceBin'), inject('referenceError'));
        const dir = tempDir('interop-lab-');
        const lab = await NatLab.up(c.ts, c.ref);
        try {
          if (c.registry === 'ts') await startLabRendezvous(lab, dir);
          else await startReferenceRendezvous(lab, bin, dir);
          const started = await startLabDaemon(lab, 'p1', dir, 'pts-lab', { reflector: c.registry === 'ts' });
          const t: LabNode = {
            impl: 'ts',
            home: started.home,
            socket: started.socket,
            nodeId: started.nodeId,
            ctl: (args, timeoutMs) => runCtl('ts', bin, started, LAB_REGISTRY, args, timeoutMs),
          };
          const r = await startReferenceDaemon(lab, bin, 'p2', dir, 'ref-lab');

          const asked = await t.ctl(['handshake', String(r.nodeId), 'interop across NATs']);
          expect(asked.ok, JSON.stringify(asked.error)).toBe(true);
          await eventually(
            'the reference shows the request',
            async () => {
              const p = await r.ctl(['pending']);
              return (p.data.pending as { node_id: number }[] | undefined)?.some(
                (e) => e.node_id === t.nodeId,
              )
                ? true
                : undefined;
            },
            40_000,
          );
          expect((await r.ctl(['approve', String(t.nodeId)])).ok).toBe(true);
          await eventually(
            'pilot-ts learns the approval',
            async () => {
              const trust = await t.ctl(['trust']);
              return (trust.data.trusted as { node_id: number }[] | undefined)?.some(
                (e) => e.node_id === r.nodeId,
              )
                ? true
                : undefined;
            },
            40_000,
          );

          const there = await eventually(
            'pilot-ts pings the reference',
            async () => {
              const p = await ping(t, r);
              return p.replies > 0 ? p : undefined;
            },
            60_000,
            1000,
          );
          const back = await eventually(
            'the reference pings pilot-ts',
            async () => {
              const p = await ping(r, t);
              return p.replies > 0 ? p : undefined;
            },
            60_000,
            1000,
          );
          expect(back.replies).toBeGreaterThan(0);
          console.log(
            `[interop] lab ${c.registry} ${c.ts}+${c.ref}: pilot-ts → reference path ${there.path}`,
          );
          if (c.direct) expect(there.path).toBe('direct');
        } finally {
          await lab.close();
          rmSync(dir, { recursive: true, force: true });
        }
      }, 240_000);
    }
  },
);
