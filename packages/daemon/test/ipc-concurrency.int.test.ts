import { execFile } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { generateIdentity } from '@pilot/crypto';
import { DirectoryClient, signerFromIdentity } from '@pilot/directory/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Driver } from '../src/driver/index.js';
import type { Daemon } from '../src/index.js';
import { IpcTestClient, startNode, TestRendezvous, tempDir } from './helpers.js';

// The worker's stderr pipe is opened lazily: open it before the leak check's baseline.
void process.stderr;

// The reference's Go pilotctl (built by ../shared/reference/build.sh; the interop suite builds it in CI).
const REFERENCE_PILOTCTL = join(process.env.PILOT_REF_DIR ?? '/tmp/pilot-reference', 'bin', 'pilotctl');

/** Runs the reference pilotctl against `socket`; resolves with its parsed `--json` output. */
function referencePilotctl(socket: string, args: readonly string[]): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    execFile(
      REFERENCE_PILOTCTL,
      ['--json', ...args],
      { env: { ...process.env, PILOT_SOCKET: socket }, timeout: 30_000 },
      (error, stdout, stderr) => {
        try {
          resolve(JSON.parse(stdout) as Record<string, unknown>);
        } catch {
          reject(
            new Error(`reference pilotctl ${args.join(' ')}: ${error?.message ?? ''} ${stdout} ${stderr}`),
          );
        }
      },
    );
  });
}

// A Dial to a node that never answers stays in flight for the whole dial timeout.
const DIAL_TIMEOUT_MS = 4000;

const dir = tempDir('pilot-ipc-concurrency-');
let rdv: TestRendezvous | undefined;
let alpha: Daemon;
let beta: Daemon;
let silent: UdpSocket | undefined;
let registry: DirectoryClient | undefined;
let ghosts = 0;
const clients: IpcTestClient[] = [];
const drivers: Driver[] = [];

beforeAll(async () => {
  rdv = await TestRendezvous.start(dir.path);
  alpha = await startNode(rdv, dir.path, 'alpha', { dialTimeout: DIAL_TIMEOUT_MS });
  beta = await startNode(rdv, dir.path, 'beta', { public: true });
  const socket = createSocket('udp4');
  silent = socket;
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  registry = await DirectoryClient.connect({ host: '127.0.0.1', port: rdv.server.port });
}, 60_000);

/**
 * A node in the registry whose endpoint is a UDP socket that drops everything: a fresh one for each
 * test, since the daemon remembers a peer it just failed to reach and then fails at once.
 */
async function newGhost(): Promise<{ ghost: { network: number; node: number }; ghostName: string }> {
  if (registry === undefined || silent === undefined) throw new Error('no registry');
  const signer = signerFromIdentity(generateIdentity());
  const ghostName = `ghost-${++ghosts}`;
  const registered = await registry.register(signer, {
    listenAddr: `127.0.0.1:${silent.address().port}`,
    hostname: ghostName,
  });
  await registry.setVisibility(signer, registered.nodeId, true);
  return { ghost: { network: 0, node: registered.nodeId }, ghostName };
}

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(drivers.map((d) => d.close()));
  await alpha?.close();
  await beta?.close();
  registry?.close();
  silent?.close();
  await rdv?.close();
  dir.cleanup();
}, 60_000);

// Each test waits out a Dial's whole timeout to a ghost of its own: they run side by side (one
// 4 s wait for the file instead of five in a row).
describe.concurrent('IPC requests on one connection are served concurrently', () => {
  it('answers Info at once while a Dial to an unreachable peer is in flight on the same connection', async () => {
    const { ghost } = await newGhost();
    const c = await IpcTestClient.connect(alpha.socket);
    clients.push(c);
    const dialSentAt = Date.now();
    c.send({ type: 'dial', address: ghost, port: 7 });
    c.send({ type: 'info' });
    const info = await c.next((m) => m.type === 'infoOk' || m.type === 'error' || m.type === 'dialOk');
    // The Info reply came first; the Dial is still trying.
    expect(info.type).toBe('infoOk');
    expect(Date.now() - dialSentAt).toBeLessThan(DIAL_TIMEOUT_MS);
    const dial = await c.next((m) => m.type === 'error' || m.type === 'dialOk', 30_000);
    expect(dial.type).toBe('error');
  }, 60_000);

  it("holds a later request's Error until the earlier Dial is answered (drivers give an Error to the oldest request)", async () => {
    const { ghost } = await newGhost();
    const c = await IpcTestClient.connect(alpha.socket);
    clients.push(c);
    c.send({ type: 'dial', address: ghost, port: 7 });
    // Fails fast (bad port), but its Error must not overtake the Dial's answer.
    c.send({ type: 'bind', port: 0 });
    c.send({ type: 'health' });
    const first = await c.next((m) => m.type === 'healthOk' || m.type === 'error');
    expect(first.type).toBe('healthOk');
    const dialError = await c.next((m) => m.type === 'error', 30_000);
    expect(dialError.type === 'error' && dialError.message).not.toMatch(/port 0/);
    const bindError = await c.next((m) => m.type === 'error', 10_000);
    expect(bindError.type === 'error' && bindError.message).toMatch(/port 0/);
  }, 60_000);

  it('the driver: info() answers while dial() to an unreachable peer is pending, on one Driver', async () => {
    const { ghost, ghostName } = await newGhost();
    const driver = await Driver.connect(alpha.socket);
    drivers.push(driver);
    const settled: string[] = [];
    const dial = driver.dial(ghost, 7);
    const dialDone = dial.then(
      () => settled.push('dial'),
      () => settled.push('dial'),
    );
    const info = await driver.info();
    settled.push('info');
    expect(info.node_id).toBe(alpha.nodeId);
    expect(settled).toEqual(['info']);
    const ghostly = await driver.resolveHostname(ghostName);
    expect(ghostly.node_id).toBe(ghost.node);
    await expect(dial).rejects.toMatchObject({ code: expect.stringMatching(/^DAEMON_/) });
    await dialDone;
    expect(settled).toEqual(['info', 'dial']);
  }, 60_000);

  it('the driver: a Dial to a live peer is not held behind a pending Dial to an unreachable one', async () => {
    const { ghost } = await newGhost();
    const driver = await Driver.connect(alpha.socket);
    drivers.push(driver);
    const settled: string[] = [];
    const stuck = driver.dial(ghost, 7);
    const stuckDone = stuck.then(
      () => settled.push('ghost'),
      () => settled.push('ghost'),
    );
    // The daemon must answer Dials of one IPC connection in order: the driver uses another one.
    const echo = await driver.dial('beta', 7);
    settled.push('beta');
    const back = new Promise<string>((resolve) =>
      echo.once('data', (chunk: Buffer) => resolve(String(chunk))),
    );
    echo.write('through a second channel');
    expect(await back).toBe('through a second channel');
    expect(settled).toEqual(['beta']);
    echo.end();
    await expect(stuck).rejects.toMatchObject({ code: expect.stringMatching(/^DAEMON_/) });
    await stuckDone;
    expect(settled).toEqual(['beta', 'ghost']);
    // Still one driver: its info and its datagrams work as before.
    expect((await driver.info()).node_id).toBe(alpha.nodeId);
  }, 60_000);

  it.skipIf(!existsSync(REFERENCE_PILOTCTL))(
    "the reference's pilotctl works against the concurrent daemon (info, find, connect to echo) while another client's Dial hangs",
    async () => {
      const { ghost } = await newGhost();
      const c = await IpcTestClient.connect(alpha.socket);
      clients.push(c);
      c.send({ type: 'dial', address: ghost, port: 7 });
      expect(await referencePilotctl(alpha.socket, ['info'])).toMatchObject({
        status: 'ok',
        data: { node_id: alpha.nodeId },
      });
      expect(await referencePilotctl(alpha.socket, ['find', 'beta'])).toMatchObject({
        status: 'ok',
        data: { node_id: beta.nodeId },
      });
      expect(
        await referencePilotctl(alpha.socket, ['connect', 'beta', '7', '--message', 'hello']),
      ).toMatchObject({
        status: 'ok',
        data: { response: 'hello' },
      });
      expect((await c.next((m) => m.type === 'error' || m.type === 'dialOk', 30_000)).type).toBe('error');
    },
    60_000,
  );
});
