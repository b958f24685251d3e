import { type ChildProcessByStdio, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type Daemon, IpcErrorCode } from '../src/index.js';
import { address, eventually, IpcTestClient, startNode, TestRendezvous, tempDir } from './helpers.js';

void process.stderr;

// The built program, as users run it. apps/daemon is not a dependency of this package, so its
// build may not have run yet: build it here when it is missing.
const APP = fileURLToPath(new URL('../../../apps/daemon/', import.meta.url));
const MAIN = join(APP, 'dist', 'main.js');
if (!existsSync(MAIN)) {
  const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
  const built = spawnSync(process.execPath, [tsc, '-p', join(APP, 'tsconfig.build.json')], {
    encoding: 'utf8',
  });
  if (built.status !== 0) throw new Error(`cannot build apps/daemon: ${built.stdout}${built.stderr}`);
}
const dir = tempDir('pilot-daemon-proc-');
type Child = ChildProcessByStdio<null, Readable, Readable>;
const children: Child[] = [];
const clients: IpcTestClient[] = [];
const daemons: Daemon[] = [];
let rdv: TestRendezvous | undefined;

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(daemons.splice(0).map((d) => d.close()));
});

afterAll(async () => {
  await rdv?.close();
  dir.cleanup();
});

interface Ready {
  status: string;
  address: string;
  node_id: number;
  pid: number;
  socket: string;
}

function spawnDaemon(
  name: string,
  extra: string[] = [],
): Promise<{ child: Child; ready: Ready; stderr: () => string }> {
  if (rdv === undefined) throw new Error('no rendezvous');
  const child = spawn(
    process.execPath,
    [
      MAIN,
      '--registry',
      rdv.registry,
      '--beacon',
      rdv.beaconAddress,
      '--listen',
      '127.0.0.1:0',
      '--socket',
      join(dir.path, `${name}.sock`),
      '--home',
      join(dir.path, name),
      '--hostname',
      name,
      '--log-format',
      'json',
      ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  let out = '';
  let err = '';
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const newline = out.indexOf('\n');
      if (newline >= 0)
        resolve({ child, ready: JSON.parse(out.slice(0, newline)) as Ready, stderr: () => err });
    });
    child.once('exit', (code) =>
      reject(new Error(`pilot-daemon exited with ${code} before it was ready: ${err}`)),
    );
  });
}

function exited(child: Child): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('pilot-daemon (the program)', () => {
  it('prints the ready line, writes its pid file, and on SIGTERM deregisters and exits 0', async () => {
    rdv ??= await TestRendezvous.start(dir.path);
    const { child, ready, stderr } = await spawnDaemon('proc', ['--public']);
    expect(ready).toMatchObject({ status: 'ready', pid: child.pid, socket: join(dir.path, 'proc.sock') });
    expect(ready.address).toMatch(/^0:0000\./);
    expect(readFileSync(join(dir.path, 'proc', 'pilot.pid'), 'utf8').trim()).toBe(String(child.pid));
    const c = await IpcTestClient.connect(ready.socket);
    clients.push(c);
    expect(await c.json({ type: 'info' })).toMatchObject({
      node_id: ready.node_id,
      pid: child.pid,
      hostname: 'proc',
    });
    // Another node finds it by name while it runs…
    const peer = await startNode(rdv, dir.path, 'observer');
    daemons.push(peer);
    const o = await IpcTestClient.connect(peer.socket);
    clients.push(o);
    expect(await o.json({ type: 'resolveHostname', hostname: 'proc' })).toMatchObject({
      node_id: ready.node_id,
    });
    // …and a stream it holds is closed with a FIN when it stops.
    const dial = await o.request({ type: 'dial', address: { network: 0, node: ready.node_id }, port: 7 });
    expect(dial.type).toBe('dialOk');
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
    if (dial.type === 'dialOk') await o.next((m) => m.type === 'closeOk' && m.connId === dial.connId, 20_000);
    expect(existsSync(join(dir.path, 'proc', 'pilot.pid'))).toBe(false);
    expect(existsSync(ready.socket)).toBe(false);
    expect(stderr()).toContain('"msg":"deregistered"');
    await expect(o.json({ type: 'resolveHostname', hostname: 'proc' })).rejects.toMatchObject({
      ipcCode: IpcErrorCode.NOT_FOUND,
    });
  });

  it('exits 2 on a bad flag and 1 when the registry cannot be reached', async () => {
    const bad = spawn(process.execPath, [MAIN, '--no-such-flag'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(bad as Child);
    expect(await exited(bad as Child)).toBe(2);
    const unreachable = spawn(
      process.execPath,
      [
        MAIN,
        '--registry',
        '127.0.0.1:1',
        '--socket',
        join(dir.path, 'x.sock'),
        '--home',
        join(dir.path, 'x'),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(unreachable as Child);
    let out = '';
    unreachable.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    expect(await exited(unreachable as Child)).toBe(1);
    expect(JSON.parse(out.trim())).toMatchObject({ status: 'error', code: 'DAEMON_REGISTRY_UNAVAILABLE' });
  });

  it(
    'a peer killed with SIGKILL while a stream runs is noticed within the idle timeout',
    { timeout: 90_000 },
    async () => {
      rdv ??= await TestRendezvous.start(dir.path);
      const { child, ready } = await spawnDaemon('victim', ['--public']);
      const survivor = await startNode(rdv, dir.path, 'survivor', { idleTimeout: 1500, keepalive: 300 });
      daemons.push(survivor);
      const c = await IpcTestClient.connect(survivor.socket);
      clients.push(c);
      const victim = { network: 0, node: ready.node_id };
      const dial = await c.request({ type: 'dial', address: victim, port: 7 });
      if (dial.type !== 'dialOk') throw new Error(`dial failed: ${JSON.stringify(dial)}`);
      c.send({ type: 'send', connId: dial.connId, data: new TextEncoder().encode('alive?') });
      expect((await c.read(dial.connId, 6)).toString()).toBe('alive?');
      child.kill('SIGKILL');
      await exited(child);
      // Data in flight to a dead peer: retransmissions alone would take a minute to give up.
      c.send({ type: 'send', connId: dial.connId, data: new TextEncoder().encode('anyone?') });
      const killedAt = Date.now();
      await c.next((m) => m.type === 'closeOk' && m.connId === dial.connId, 30_000);
      // Generous for a loaded machine; the point is "about the idle timeout", not a minute of RTOs.
      expect(Date.now() - killedAt).toBeLessThan(20_000);
      await eventually(
        async () => ((await c.json({ type: 'info' })).connections as number) === 0,
        30_000,
        'no connections left',
      );
      // The killed daemon left its socket file behind: the next daemon replaces it.
      expect(existsSync(ready.socket)).toBe(true);
      const heir = await startNode(rdv, dir.path, 'heir', { socket: ready.socket });
      daemons.push(heir);
      const h = await IpcTestClient.connect(ready.socket);
      clients.push(h);
      expect((await h.json({ type: 'info' })).node_id).toBe(heir.nodeId);
      expect(address(heir).node).not.toBe(victim.node);
    },
  );
});
