// Scenario 4 of SECURITY.md's flood suite, with real processes: pilot-rendezvous, a victim
// pilot-daemon, a trusted peer, and an attacker process (ooo-flood.mjs) whose 64 registered nodes
// open 16 streams each (1,024) to the victim's port 444 and send only out-of-order segments.
// Proven: the victim's RSS grows by less than 64 MiB, and a trusted transfer beside the attack keeps
// at least half the goodput it has a moment earlier or later with the attacker paused (median of
// interleaved pairs, so load from outside the test that comes and goes cannot decide the figure).
// `PILOT_FLOOD_DAEMON_ARGS` lifts the port-444 budgets for SECURITY.md's "before" figure.
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Daemon, startDaemon } from '../../src/index.js';
import { IpcTestClient, tempDir } from '../helpers.js';
import { ensureBuilt } from '../lab/lab-daemons.js';
import { type Program, program, rssOf, startDaemonProgram, startRendezvous } from './programs.js';

const ATTACKER = fileURLToPath(new URL('./ooo-flood.mjs', import.meta.url));
const IDENTITIES = 64;
const STREAMS_EACH = 16;
const TRANSFER = 2 * 1024 * 1024;
const MiB = 1024 * 1024;
/** Paused/loaded transfer pairs whose median ratio is the figure. */
const PAIRS = 9;

const dir = tempDir('pilot-ooo-flood-');
const programs: Program[] = [];
const clients: IpcTestClient[] = [];
let trusted: Daemon | undefined;

beforeAll(() => ensureBuilt(), 180_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await trusted?.close();
  for (const p of programs.reverse()) await p.stop();
  dir.cleanup();
});

/** Sends `bytes` through the victim's echo service and reads them back: MiB/s of the round trip. */
async function echoGoodput(client: IpcTestClient, node: number, bytes: number): Promise<number> {
  const dial = await client.request({ type: 'dial', address: { network: 0, node }, port: 7 }, 20_000);
  if (dial.type !== 'dialOk') throw new Error(`dial failed: ${JSON.stringify(dial)}`);
  const started = performance.now();
  const chunk = new Uint8Array(60_000).fill(0x5a);
  for (let sent = 0; sent < bytes; sent += chunk.length)
    client.send({
      type: 'send',
      connId: dial.connId,
      data: chunk.subarray(0, Math.min(chunk.length, bytes - sent)),
    });
  await client.read(dial.connId, bytes, 60_000);
  const seconds = (performance.now() - started) / 1000;
  await client.request({ type: 'close', connId: dial.connId });
  return bytes / MiB / seconds;
}

async function trustedIds(client: IpcTestClient): Promise<number[]> {
  const reply = await client.json({ type: 'handshake', request: { action: 'trusted' } });
  return (reply.trusted as { node_id: number }[]).map((t) => t.node_id);
}

describe('scenario 4: 1,024 streams of out-of-order segments to port 444', () => {
  it('keeps the victim’s RSS growth under 64 MiB and a trusted transfer at ≥ half its goodput', async () => {
    const rv = await startRendezvous(dir.path);
    programs.push(rv.program);
    const victim = await startDaemonProgram(dir.path, 'victim', [
      '--registry',
      rv.registry,
      '--beacon',
      rv.beacon,
      '--handshake-poll',
      '250ms',
      // The attacker's 64 nodes come from one address: let their key lookups through, this
      // scenario is about what their streams can make the victim hold.
      '--budget-lookup-per-source-rate',
      '1000',
      '--budget-lookup-per-source-burst',
      '1000',
    ]);
    programs.push(victim.program);
    const v = await IpcTestClient.connect(victim.socket);
    clients.push(v);
    const victimInfo = await v.json({ type: 'info' });
    const udp = String(victimInfo.udp_listen);

    trusted = await startDaemon({
      home: `${dir.path}/trusted`,
      registry: rv.registry,
      beacon: rv.beacon,
      listen: '127.0.0.1:0',
      socket: `${dir.path}/trusted.sock`,
      hostname: 'trusted',
      handshakePoll: 250,
      logLevel: 'error',
    });
    const t = await IpcTestClient.connect(trusted.socket);
    clients.push(t);
    const trustedId = trusted.nodeId;
    await t.json({
      type: 'handshake',
      request: { action: 'send', node: victim.nodeId, justification: 'ooo test' },
    });
    await v.json({
      type: 'handshake',
      request: { action: 'send', node: trustedId, justification: 'ooo test' },
    });
    const deadline = Date.now() + 20_000;
    while (!(await trustedIds(v)).includes(trustedId) || !(await trustedIds(t)).includes(victim.nodeId)) {
      if (Date.now() > deadline) throw new Error('no mutual trust');
      await new Promise((wait) => setTimeout(wait, 100));
    }

    // Unloaded before the attack, for the log: a warm-up, then the best of three.
    await echoGoodput(t, victim.nodeId, 256 * 1024);
    let unloadedBefore = 0;
    for (let i = 0; i < 3; i++)
      unloadedBefore = Math.max(unloadedBefore, await echoGoodput(t, victim.nodeId, TRANSFER));
    const rssBefore = rssOf(victim.pid);

    const attacker = program([
      ATTACKER,
      JSON.stringify({
        registry: rv.registry,
        victim: victim.nodeId,
        victimKey: String(victimInfo.public_key),
        victimUdp: udp,
        identities: IDENTITIES,
        streams: STREAMS_EACH,
        bytesPerStream: MiB,
        seconds: 120, // stopped once the loaded figure is taken; this only bounds a forgotten one
      }),
    ]);
    programs.push(attacker);
    let rssPeak = rssBefore;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, rssOf(victim.pid));
    }, 200);
    const signal = (name: 'SIGSTOP' | 'SIGCONT'): void => {
      if (attacker.child.exitCode === null && attacker.child.signalCode === null) attacker.child.kill(name);
    };
    try {
      const ready = await attacker.next((line) => line.ready === true, 60_000);
      // Its streams are open and their segments sent: from here the attacker runs at the lowest CPU
      // priority. On a real network its CPU is its own; on this 2-core machine its 64 transports'
      // retransmission timers would otherwise take the cores that the victim and the trusted peer
      // (the processes under test) need, and the figure would measure the box, not the budgets.
      if (attacker.child.pid !== undefined) setPriority(attacker.child.pid, 19);
      // Its streams opened over the last half minute (the victim's SYN rate limit spaces them) and
      // wrote their segments as they opened: a second more, then transfer beside them.
      await new Promise((wait) => setTimeout(wait, 1000));
      // The machine is shared: other work comes and goes within seconds, so a loaded figure set
      // against an unloaded one taken earlier measured the box (0.29 and 0.43 on busy runs). Instead
      // the attacker is paused (SIGSTOP: it sends nothing, the victim keeps all it holds for it) and
      // resumed around each trusted transfer; each pair's two transfers are half a second apart,
      // the order alternates, and the figure is the median of the pairs' loaded ÷ paused ratios.
      const pairs: { paused: number; loaded: number }[] = [];
      for (let i = 0; i < PAIRS; i++) {
        const pair = { paused: 0, loaded: 0 };
        for (const phase of i % 2 === 0 ? (['paused', 'loaded'] as const) : (['loaded', 'paused'] as const)) {
          signal(phase === 'paused' ? 'SIGSTOP' : 'SIGCONT');
          await new Promise((wait) => setTimeout(wait, phase === 'paused' ? 150 : 300));
          pair[phase] = await echoGoodput(t, victim.nodeId, TRANSFER);
        }
        pairs.push(pair);
      }
      signal('SIGCONT');
      const ratios = pairs.map((p) => p.loaded / p.paused).sort((a, b) => a - b);
      const ratio = ratios[Math.floor(ratios.length / 2)] ?? 0;
      const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
      const loaded = median(pairs.map((p) => p.loaded));
      const unloaded = median(pairs.map((p) => p.paused));
      const info = await v.json({ type: 'info' });
      const rssGrowth = rssPeak - rssBefore;
      const figure = {
        scenario: 4,
        attacker: ready,
        victim_streams_444: (info.conn_list as { local_port: number }[]).filter((c) => c.local_port === 444)
          .length,
        rss_before_mib: Math.round((rssBefore / MiB) * 10) / 10,
        rss_peak_mib: Math.round((rssPeak / MiB) * 10) / 10,
        rss_growth_mib: Math.round((rssGrowth / MiB) * 10) / 10,
        goodput_before_attack_mib_s: Math.round(unloadedBefore * 100) / 100,
        goodput_unloaded_mib_s: Math.round(unloaded * 100) / 100,
        goodput_loaded_mib_s: Math.round(loaded * 100) / 100,
        pair_ratios: ratios.map((r) => Math.round(r * 100) / 100),
        ratio: Math.round(ratio * 100) / 100,
        refused: (info.budgets as { refused?: unknown } | undefined)?.refused,
      };
      console.log(`[flood] ${JSON.stringify(figure)}`);
      expect(Number(ready.tunnels)).toBe(IDENTITIES);
      expect(rssGrowth).toBeLessThan(64 * MiB);
      expect(ratio).toBeGreaterThanOrEqual(0.5);
    } finally {
      signal('SIGCONT');
      clearInterval(sampler);
    }
    await attacker.stop();
  }, 150_000);
});
