import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Daemon } from '../src/index.js';
import { address, eventually, IpcTestClient, startNode, TestRendezvous, tempDir } from './helpers.js';

void process.stderr;

const dir = tempDir('pilot-daemon-faults-');
let rdv: TestRendezvous;
const clients: IpcTestClient[] = [];
const daemons: Daemon[] = [];

async function client(daemon: Daemon): Promise<IpcTestClient> {
  const c = await IpcTestClient.connect(daemon.socket);
  clients.push(c);
  return c;
}

async function echo(c: IpcTestClient, connId: number, text: string): Promise<string> {
  c.send({ type: 'send', connId, data: new TextEncoder().encode(text) });
  return (await c.read(connId, text.length)).toString();
}

beforeAll(async () => {
  rdv = await TestRendezvous.start(dir.path);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(daemons.map((d) => d.close()));
  await rdv.close();
  dir.cleanup();
});

describe('daemon faults', () => {
  it(
    'comes back at the same address after a restart, and peers reach it again',
    { timeout: 120_000 },
    async () => {
      const logFile = join(dir.path, 'phoenix', 'pilot.log');
      const first = await startNode(rdv, dir.path, 'phoenix', {
        public: true,
        logFile,
        logLevel: 'info',
        logFormat: 'json',
      });
      const before = { nodeId: first.nodeId, address: first.address };
      const peer = await startNode(rdv, dir.path, 'watcher');
      daemons.push(peer);
      const c = await client(peer);
      const d1 = await c.request({ type: 'dial', address: address(first), port: 7 });
      if (d1.type !== 'dialOk') throw new Error('dial failed');
      expect(await echo(c, d1.connId, 'before')).toBe('before');
      await first.close();
      await c.next((m) => m.type === 'closeOk' && m.connId === d1.connId, 20_000);
      const lines = readFileSync(logFile, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ level: 'info', msg: 'registered', node_id: before.nodeId }),
          expect.objectContaining({ msg: 'deregistered' }),
        ]),
      );
      const restarted = performance.now();
      const again = await startNode(rdv, dir.path, 'phoenix', { public: true });
      daemons.push(again);
      expect({ nodeId: again.nodeId, address: again.address }).toEqual(before);
      // The peer still holds keys of the old process and its old UDP port (the new one is another):
      // the tunnel must find it and re-key by itself, and one dial (20 s timeout) must get through.
      // It took the whole 20 s when only the relay's periodic retry asked the registry; now the
      // silent path is looked up at once (~3 s to notice), and the SYN goes as soon as the new
      // session is confirmed (~4 s in all here). Generous for a loaded CI machine.
      const reply = await c.request({ type: 'dial', address: address(again), port: 7 });
      const reachedAfter = performance.now() - restarted;
      if (reply.type !== 'dialOk') throw new Error(`dial after the restart: ${JSON.stringify(reply)}`);
      console.log(`restart → dialOk in ${Math.round(reachedAfter)} ms`);
      expect(reachedAfter).toBeLessThan(12_000);
      expect(await echo(c, reply.connId, 'after')).toBe('after');
    },
  );

  it('re-registers by itself after the registry restarts; tunnels keep working meanwhile', async () => {
    const one = await startNode(rdv, dir.path, 'one', { public: true });
    const two = await startNode(rdv, dir.path, 'two', { public: true });
    daemons.push(one, two);
    const c = await client(two);
    const d = await c.request({ type: 'dial', address: address(one), port: 7 });
    if (d.type !== 'dialOk') throw new Error('dial failed');
    expect(await echo(c, d.connId, 'first')).toBe('first');
    const registrations = (one.info().registrations as number) + (two.info().registrations as number);
    await rdv.stopRegistry();
    expect(await echo(c, d.connId, 'during the outage')).toBe('during the outage');
    await eventually(
      () => one.info().registry_ok === false && two.info().registry_ok === false,
      30_000,
      'the outage noticed',
    );
    await rdv.startRegistry();
    await eventually(
      () =>
        one.info().registry_ok === true &&
        two.info().registry_ok === true &&
        (one.info().registrations as number) + (two.info().registrations as number) >= registrations + 2,
      60_000,
      'both daemons registered again',
    );
    expect(await echo(c, d.connId, 'after')).toBe('after');
    expect(await c.json({ type: 'resolveHostname', hostname: 'one' })).toMatchObject({ node_id: one.nodeId });
    const fresh = await c.request({ type: 'dial', address: address(one), port: 7 });
    expect(fresh.type).toBe('dialOk');
  });
});
