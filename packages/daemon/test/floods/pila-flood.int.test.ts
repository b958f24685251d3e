// Scenario 1 of SECURITY.md's flood suite, with real processes: pilot-rendezvous, a victim
// pilot-daemon whose registry is 50 ms away (a delaying proxy that also sees, on the registry side,
// when each request arrives), a trusted peer, and an attacker process sending 1,000 PILAs a second
// with random sender IDs for 20 s. Each such PILA asks the victim for a registry lookup, on the one
// connection that also carries its heartbeats. Proven: the heartbeats keep arriving on time at the
// registry, few of the lookups reach it, and the trusted peer connects afresh and pings during the
// flood. `PILOT_FLOOD_DAEMON_MAIN` / `PILOT_FLOOD_DAEMON_ARGS` run another build or other budgets
// for SECURITY.md's "before" figures.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Daemon, startDaemon } from '../../src/index.js';
import { IpcTestClient, tempDir } from '../helpers.js';
import { ensureBuilt } from '../lab/lab-daemons.js';
import { type Program, program, startDaemonProgram, startRendezvous } from './programs.js';
import { RegistryProxy } from './registry-proxy.js';

const ATTACKER = fileURLToPath(new URL('./pila-flood.mjs', import.meta.url));
const FLOOD_RATE = 1000;
const FLOOD_SECONDS = 20;
const HEARTBEAT_MS = 1000;

const dir = tempDir('pilot-pila-flood-');
const programs: Program[] = [];
const clients: IpcTestClient[] = [];
let proxy: RegistryProxy | undefined;
let trusted: Daemon | undefined;

beforeAll(() => ensureBuilt(), 180_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await trusted?.close();
  for (const p of programs.reverse()) await p.stop();
  await proxy?.close();
  dir.cleanup();
});

async function echo(client: IpcTestClient, node: number, text: string): Promise<number> {
  const started = performance.now();
  const dial = await client.request({ type: 'dial', address: { network: 0, node }, port: 7 }, 20_000);
  if (dial.type !== 'dialOk') throw new Error(`dial failed: ${JSON.stringify(dial)}`);
  client.send({ type: 'send', connId: dial.connId, data: new TextEncoder().encode(text) });
  const back = await client.read(dial.connId, text.length, 20_000);
  await client.request({ type: 'close', connId: dial.connId });
  expect(back.toString()).toBe(text);
  return performance.now() - started;
}

async function trustedIds(client: IpcTestClient): Promise<number[]> {
  const reply = await client.json({ type: 'handshake', request: { action: 'trusted' } });
  return (reply.trusted as { node_id: number; mutual?: boolean }[]).map((t) => t.node_id);
}

describe('scenario 1: a PILA flood with random sender IDs', () => {
  it('keeps the victim’s heartbeats on time and lets a trusted peer connect and ping', async () => {
    const rv = await startRendezvous(dir.path);
    programs.push(rv.program);
    const [host, port] = rv.registry.split(':');
    proxy = await RegistryProxy.start({ host: host ?? '127.0.0.1', port: Number(port) }, 25);

    const victim = await startDaemonProgram(dir.path, 'victim', [
      '--registry',
      proxy.address,
      '--registry-tls',
      'false',
      '--beacon',
      rv.beacon,
      '--heartbeat',
      `${HEARTBEAT_MS}ms`,
      '--handshake-poll',
      '250ms',
    ]);
    programs.push(victim.program);
    const v = await IpcTestClient.connect(victim.socket);
    clients.push(v);
    const udp = String((await v.json({ type: 'info' })).udp_listen);

    // The trusted peer: mutual trust before the flood (so its key is pinned at the victim).
    const peerOptions = {
      home: `${dir.path}/trusted`,
      registry: rv.registry,
      beacon: rv.beacon,
      listen: '127.0.0.1:0',
      socket: `${dir.path}/trusted.sock`,
      hostname: 'trusted',
      handshakePoll: 250,
      logLevel: 'error' as const,
    };
    trusted = await startDaemon(peerOptions);
    let t = await IpcTestClient.connect(trusted.socket);
    clients.push(t);
    const trustedId = trusted.nodeId;
    await t.json({
      type: 'handshake',
      request: { action: 'send', node: victim.nodeId, justification: 'flood test' },
    });
    await v.json({
      type: 'handshake',
      request: { action: 'send', node: trustedId, justification: 'flood test' },
    });
    const deadline = Date.now() + 20_000;
    while (!(await trustedIds(v)).includes(trustedId) || !(await trustedIds(t)).includes(victim.nodeId)) {
      if (Date.now() > deadline) throw new Error('no mutual trust');
      await new Promise((wait) => setTimeout(wait, 100));
    }
    await echo(t, victim.nodeId, 'before');
    // It goes away, to connect afresh (new tunnel keys) during the flood.
    await t.close();
    await trusted.close();
    trusted = undefined;

    const [udpHost, udpPort] = udp.split(':');
    const attacker = program([
      ATTACKER,
      udpHost ?? '127.0.0.1',
      String(udpPort),
      String(FLOOD_RATE),
      String(FLOOD_SECONDS),
    ]);
    programs.push(attacker);
    await attacker.next((line) => line.ready === true);
    const floodStart = performance.now();

    // During the flood: the trusted peer comes back, connects and pings, again and again.
    await new Promise((wait) => setTimeout(wait, 3000));
    trusted = await startDaemon(peerOptions);
    t = await IpcTestClient.connect(trusted.socket);
    clients.push(t);
    const pings: number[] = [];
    while (performance.now() - floodStart < (FLOOD_SECONDS - 2) * 1000) {
      pings.push(await echo(t, victim.nodeId, `ping-${pings.length}`));
      await new Promise((wait) => setTimeout(wait, 1000));
    }
    const done = await attacker.next((line) => typeof line.sent === 'number', (FLOOD_SECONDS + 20) * 1000);
    const floodEnd = performance.now();

    const heartbeats = proxy.between('heartbeat', floodStart, floodEnd);
    const gaps = heartbeats.slice(1).map((h, i) => h.at - (heartbeats[i]?.at ?? h.at));
    const lookups = proxy.between('lookup', floodStart, floodEnd);
    const info = await v.json({ type: 'info' });
    const figure = {
      scenario: 1,
      pilas_sent: done.sent,
      flood_s: Math.round((floodEnd - floodStart) / 100) / 10,
      heartbeats: heartbeats.length,
      heartbeat_gap_max_ms: Math.round(Math.max(...gaps)),
      heartbeat_reply_max_ms: Math.round(Math.max(...heartbeats.map((h) => h.replyMs ?? 0))),
      lookups_at_registry: lookups.length,
      pings: pings.length,
      ping_max_ms: Math.round(Math.max(...pings)),
      refused: (info.budgets as { refused?: unknown } | undefined)?.refused,
      registry_session: info.registry_session,
    };
    console.log(`[flood] ${JSON.stringify(figure)}`);

    expect(Number(done.sent)).toBeGreaterThan(FLOOD_RATE * FLOOD_SECONDS * 0.9);
    // On time: one every second (a tick is 250 ms of poll plus two 50 ms round trips), never a
    // second late, for the whole flood.
    expect(heartbeats.length).toBeGreaterThanOrEqual(
      Math.floor((FLOOD_SECONDS * 1000) / (HEARTBEAT_MS + 600)),
    );
    expect(Math.max(...gaps)).toBeLessThan(HEARTBEAT_MS + 1000);
    // 20,000 random IDs, and only the budget's worth reached the registry.
    expect(lookups.length).toBeLessThan(20 * FLOOD_SECONDS + 40);
    // The trusted peer connected during the flood and every ping came back.
    expect(pings.length).toBeGreaterThanOrEqual(5);
    expect(info.registry_ok).toBe(true);
  }, 120_000);
});
