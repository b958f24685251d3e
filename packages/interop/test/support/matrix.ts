import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Cluster, IMPL_NAME, type Impl, type PilotNode } from './cluster.js';
import { referenceBinOrThrow } from './global-setup.js';
import { eventually } from './processes.js';

// biome-ignore lint/suspicious/noExplicitAny: the CLIs' JSON, read field by field
type Json = Record<string, any>;

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** The ids of a `pending` / `trust` listing (both CLIs: data.pending / data.trusted, entries with node_id). */
function ids(list: unknown): number[] {
  return Array.isArray(list) ? list.map((e: Json) => Number(e.node_id)) : [];
}

/** Ping replies that came back (ours: results with rtt_ms; the reference: results without error). */
function pingReplies(data: Json): number {
  const results = Array.isArray(data.results) ? (data.results as Json[]) : [];
  return results.filter((r) => typeof r.rtt_ms === 'number' && r.error === undefined).length;
}

/** The file a node received whose content hashes to `digest`, if any. */
function receivedWithHash(node: PilotNode, digest: string): string | undefined {
  let names: string[] = [];
  try {
    names = readdirSync(node.receivedDir);
  } catch {
    return undefined;
  }
  return names.find((name) => sha256(readFileSync(join(node.receivedDir, name))) === digest);
}

/**
 * The interop matrix on one registry: a pilot-ts daemon `t` and a reference daemon `r` on a
 * rendezvous of `registry`'s implementation, every command both CLIs have, each way.
 */
export function defineMatrix(registry: Impl): void {
  describe(`on the ${IMPL_NAME[registry]} registry`, () => {
    let cluster: Cluster;
    let t: PilotNode;
    let r: PilotNode;

    beforeAll(async () => {
      cluster = await Cluster.start(
        registry,
        referenceBinOrThrow(inject('referenceBin'), inject('referenceError')),
      );
      [t, r] = await Promise.all([
        cluster.node('ts', `pts-${registry}`),
        cluster.node('ref', `ref-${registry}`),
      ]);
    });

    afterAll(async () => {
      await cluster?.close();
    });

    /** `from` asks `to` for trust; resolves once `to` shows the request with its justification. */
    async function handshake(from: PilotNode, to: PilotNode, justification: string): Promise<void> {
      await from.must(['handshake', String(to.nodeId), justification]);
      await eventually(`${to.label} shows ${from.label}'s request in pending`, async () => {
        const pending = (await to.must(['pending'])).pending as Json[] | undefined;
        const entry = pending?.find((e) => Number(e.node_id) === from.nodeId);
        return entry?.justification === justification ? entry : undefined;
      });
    }

    const trusts = async (node: PilotNode, peer: PilotNode): Promise<boolean> =>
      ids((await node.must(['trust'])).trusted).includes(peer.nodeId);

    describe('trust', () => {
      for (const direction of ['ts→ref', 'ref→ts'] as const) {
        it(`handshake ${direction}: the request shows in the receiver's pending with its justification; reject`, async () => {
          const [from, to] = direction === 'ts→ref' ? [t, r] : [r, t];
          await handshake(from, to, `reject me ${direction}`);
          await to.must(['reject', String(from.nodeId)]);
          await eventually(`${to.label}'s pending empty after reject`, async () =>
            ids((await to.must(['pending'])).pending).includes(from.nodeId) ? undefined : true,
          );
          expect(await trusts(to, from)).toBe(false);
          if (from.impl === 'ref') {
            // The reference handles a poll's requests before its responses (the order we fixed in
            // ours): a request from us arriving with our rejection would find its own request still
            // outgoing and be approved as mutual. Wait until it has taken the rejection.
            await eventually('the reference takes the rejection', async () =>
              from.log().includes('handshake rejected via relay') ? true : undefined,
            );
          }
        });
      }

      it('handshake pilot-ts → reference, reference approves: both trust each other', async () => {
        await handshake(t, r, 'interop: please trust me');
        await r.must(['approve', String(t.nodeId)]);
        await eventually('reference trusts pilot-ts', async () => ((await trusts(r, t)) ? true : undefined));
        await eventually(
          'pilot-ts learns the approval',
          async () => ((await trusts(t, r)) ? true : undefined),
          40_000,
        );
      });
    });

    // One at a time: the reference's bench stalls when other streams share its tunnel.
    describe('bench', () => {
      for (const direction of ['ts→ref', 'ref→ts'] as const) {
        it(`bench 1 MiB ${direction}`, async () => {
          const [from, to] = direction === 'ts→ref' ? [t, r] : [r, t];
          // A first bench from pilot-ts to a reference peer just after their tunnel came up
          // sometimes stalls (see the README's known issues); a second one completes.
          let last: unknown;
          for (let attempt = 1; attempt <= 3; attempt++) {
            const result = await from.ctl(['bench', String(to.nodeId), '1', '--timeout', '25s'], 40_000);
            if (result.ok) {
              expect(Number(result.data.recv_bytes)).toBe(1 << 20);
              if (attempt > 1) console.log(`[interop] bench ${direction} on ${registry}: attempt ${attempt}`);
              return;
            }
            last = result.error;
          }
          throw new Error(`bench ${direction} failed three times: ${JSON.stringify(last)}`);
        });
      }
    });

    describe.concurrent('data both ways', () => {
      for (const direction of ['ts→ref', 'ref→ts'] as const) {
        const ends = (): [PilotNode, PilotNode] => (direction === 'ts→ref' ? [t, r] : [r, t]);

        it(`ping ${direction}`, async ({ expect }) => {
          const [from, to] = ends();
          const data = await from.must(['ping', String(to.nodeId), '--count', '3']);
          expect(pingReplies(data)).toBeGreaterThanOrEqual(1);
        });

        it(`echo (port 7) ${direction}`, async ({ expect }) => {
          const [from, to] = ends();
          const text = `echo-${direction}-${randomBytes(4).toString('hex')}`;
          const data = await from.must(['send', String(to.nodeId), '7', '--data', text]);
          expect(String(data.response)).toContain(text);
        });

        it(`send-message + inbox ${direction}`, async ({ expect }) => {
          const [from, to] = ends();
          const text = `message-${direction}-${randomBytes(4).toString('hex')}`;
          const sent = await from.must(['send-message', String(to.nodeId), '--data', text]);
          expect(String(sent.ack)).toMatch(/^ACK TEXT/);
          const found = await eventually(`${to.label}'s inbox holds the message`, async () => {
            const messages = (await to.must(['inbox'])).messages as Json[] | undefined;
            return messages?.find((m) => m.data === text);
          });
          expect(found.data).toBe(text);
        });

        it(`send-file 600 KiB (below the reference's 1 MiB IPC limit) ${direction}, sha256 checked on arrival`, async ({
          expect,
        }) => {
          const [from, to] = ends();
          const bytes = randomBytes(600 * 1024);
          const file = join(cluster.dir, `small-${direction}.bin`);
          writeFileSync(file, bytes);
          const sent = await from.must(['send-file', String(to.nodeId), file], 120_000);
          expect(String(sent.ack)).toMatch(/^ACK FILE/);
          const arrived = await eventually(`${to.label} received the file`, async () =>
            receivedWithHash(to, sha256(bytes)),
          );
          expect(arrived).toBeTruthy();
        });

        it(`send-file 3 MiB (above the reference's 1 MiB IPC limit) ${direction}`, async ({ expect }) => {
          const [from, to] = ends();
          const bytes = randomBytes(3 << 20);
          const file = join(cluster.dir, `big-${direction}.bin`);
          writeFileSync(file, bytes);
          const result = await from.ctl(['send-file', String(to.nodeId), file], 120_000);
          if (from.impl === 'ref') {
            // The reference's pilotctl puts the whole file in one IPC message, which its own daemon
            // refuses over 1 MiB: it fails before anything leaves the node (see the README).
            expect(result.ok).toBe(false);
            expect(`${result.error?.message}`).toMatch(/broken pipe|too large|reset/);
            return;
          }
          expect(result.ok, JSON.stringify(result.error)).toBe(true);
          const arrived = await eventually(`${to.label} received the file`, async () =>
            receivedWithHash(to, sha256(bytes)),
          );
          expect(arrived).toBeTruthy();
        });

        it(`pub/sub (port 1002) ${direction}: subscribe at the peer, publish there, the event arrives`, async ({
          expect,
        }) => {
          const [from, to] = ends();
          const topic = `topic-${direction}`.replace(/[^a-z0-9-]/g, '');
          const text = `event-${randomBytes(4).toString('hex')}`;
          const subscription = from.ctl(
            ['subscribe', String(to.nodeId), topic, '--count', '1', '--timeout', '40s'],
            60_000,
          );
          // The subscription must be in place before the event: publish until it has been seen.
          let done = false;
          const publisher = (async () => {
            while (!done) {
              await from.ctl(['publish', String(to.nodeId), topic, '--data', text], 20_000);
              await new Promise((resolve) => setTimeout(resolve, 1500));
            }
          })();
          const got = await subscription;
          done = true;
          await publisher;
          expect(got.ok, JSON.stringify(got.error)).toBe(true);
          expect(JSON.stringify(got.data.events)).toContain(text);
        });

        it(`lookup by node id ${direction}`, async ({ expect }) => {
          const [from, to] = ends();
          const data = await from.must(['lookup', String(to.nodeId)]);
          expect(Number(data.node_id)).toBe(to.nodeId);
          expect(data.hostname).toBe(to.name);
        });
      }

      it('datagram pilot-ts → reference (the reference pilotctl has no command that sends one)', async ({
        expect,
      }) => {
        const port = 5100;
        const text = `dgram-${randomBytes(4).toString('hex')}`;
        const listening = r.ctl(['listen', String(port), '--count', '1', '--timeout', '30s'], 45_000);
        let done = false;
        const sender = (async () => {
          await new Promise((resolve) => setTimeout(resolve, 1000));
          while (!done) {
            await t.ctl(['send-datagram', String(r.nodeId), String(port), '--data', text], 15_000);
            await new Promise((resolve) => setTimeout(resolve, 1000));
          }
        })();
        const got = await listening;
        done = true;
        await sender;
        expect(got.ok, JSON.stringify(got.error)).toBe(true);
        expect(JSON.stringify(got.data.messages)).toContain(text);
      });

      it('find by hostname: pilot-ts finds the private reference node it trusts', async ({ expect }) => {
        const data = await t.must(['find', r.name]);
        expect(Number(data.node_id)).toBe(r.nodeId);
      });
    });

    describe('discovery', () => {
      it('tags: each sees the other’s tags; peers --search where the registry has capability search', async () => {
        if (registry === 'ref') {
          // The reference allows [a-z0-9-] only (ours also dots, for namespaces) and says only
          // "request failed".
          const dotted = await t.ctl(['set-tags', 'weather.metar']);
          expect(dotted.ok).toBe(false);
          expect(dotted.error?.message).toMatch(/request failed/);
        }
        await t.must(['set-tags', 'interop-ts', 'metar']);
        await r.must(['set-tags', 'interop-ref']);
        expect((await r.must(['lookup', String(t.nodeId)])).tags).toEqual(['interop-ts', 'metar']);
        expect((await t.must(['lookup', String(r.nodeId)])).tags).toEqual(['interop-ref']);
        const search = await t.ctl(['peers', '--search', 'interop-ref']);
        if (registry === 'ts') {
          // Signed search: the private reference node shows because it trusts us.
          expect(search.ok, JSON.stringify(search.error)).toBe(true);
          expect(ids(search.data.results)).toEqual([r.nodeId]);
        } else {
          expect(search.ok).toBe(false);
          expect(search.error?.code).toBe('unavailable');
          expect(search.error?.message).toMatch(/no capability search/);
        }
        await t.must(['clear-tags']);
        expect((await r.must(['lookup', String(t.nodeId)])).tags ?? []).toEqual([]);
      });

      it('set-public / set-private of each, seen by the other', async () => {
        // The reference daemon resolves hostnames without saying who asks, so it finds a private
        // node only once that node is public (its own bug: see the README).
        expect((await r.ctl(['find', t.name])).ok).toBe(false);
        await t.must(['set-public']);
        expect(Number((await r.must(['find', t.name])).node_id)).toBe(t.nodeId);
        expect((await r.must(['lookup', String(t.nodeId)])).public).toBe(true);
        await t.must(['set-private']);
        expect((await r.must(['lookup', String(t.nodeId)])).public).toBe(false);
        expect((await r.ctl(['find', t.name])).ok).toBe(false);

        await r.must(['set-public']);
        expect((await t.must(['lookup', String(r.nodeId)])).public).toBe(true);
        await r.must(['set-private']);
        expect((await t.must(['lookup', String(r.nodeId)])).public).toBe(false);
      });
    });

    describe('restart with the identity kept', () => {
      for (const which of ['ref', 'ts'] as const) {
        it(`the ${IMPL_NAME[which]} daemon restarts with the same address and is reached again`, async () => {
          const node = which === 'ts' ? t : r;
          const other = which === 'ts' ? r : t;
          const before = node.address;
          await node.restart();
          expect(node.address).toBe(before);
          await eventually(
            `${other.label} pings the restarted ${node.label}`,
            async () => {
              const result = await other.ctl(['ping', String(node.nodeId), '--count', '2']);
              return result.ok && pingReplies(result.data) > 0 ? true : undefined;
            },
            60_000,
            2000,
          );
        });
      }
    });
    describe('untrust', () => {
      it('pilot-ts untrusts the reference (which is told); the reference asks again, pilot-ts approves; the reference untrusts pilot-ts', async () => {
        await t.must(['untrust', String(r.nodeId)]);
        expect(await trusts(t, r)).toBe(false);
        // Our untrust tells the peer over the tunnel before dropping it.
        await eventually('the reference drops its trust in pilot-ts', async () =>
          (await trusts(r, t)) ? undefined : true,
        );

        await handshake(r, t, 'interop: trust me again');
        await t.must(['approve', String(r.nodeId)]);
        await eventually('pilot-ts trusts the reference', async () =>
          (await trusts(t, r)) ? true : undefined,
        );
        await eventually(
          'the reference learns the approval',
          async () => ((await trusts(r, t)) ? true : undefined),
          40_000,
        );

        // The reference drops its tunnel and the registry's trust pair before it sends its notice,
        // which then rarely finds a way to us: only its own side is certain (see the README).
        await r.must(['untrust', String(t.nodeId)]);
        expect(await trusts(r, t)).toBe(false);
      });
    });
    describe('tunnel extensions', () => {
      it('the reference peer got the spec PILA only: no PILX from pilot-ts, static keys, no capabilities', async () => {
        const info = await t.must(['info']);
        // Counted over the whole matrix above (every PILA pilot-ts sent to the reference daemon).
        expect(info.tunnel?.pila_sent ?? 0).toBeGreaterThan(0);
        expect(info.tunnel?.pilx_sent ?? 0).toBe(0);
        const peer = (info.peer_list as Json[] | undefined)?.find((p) => Number(p.node_id) === r.nodeId);
        if (peer !== undefined) expect(peer).toMatchObject({ forward_secret: false, capabilities: [] });
      });
    });
  });
}
