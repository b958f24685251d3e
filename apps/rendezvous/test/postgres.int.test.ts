// Two rendezvous programs on one real PostgreSQL server serve one network: daemons registered
// through either reach each other, and when one instance is killed with SIGKILL mid-run the
// network carries on through the other (a daemon given both moves to it, tunnels kept) and no
// acknowledged write is lost.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Daemon, startDaemon } from '@pilot/daemon';
import { Driver } from '@pilot/daemon/driver';
import { createSigner, DirectoryClient } from '@pilot/directory/client';
import { startPostgres, type TestPostgres } from '@pilot/testkit/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exited, killAll, type Program, type Started, startProgram } from './program.js';

const dir = mkdtempSync(join(tmpdir(), 'rdv-pg-'));
const children: Program[] = [];
const daemons: Daemon[] = [];
const drivers: Driver[] = [];
const clients: DirectoryClient[] = [];
let pg: TestPostgres;

beforeAll(async () => {
  pg = await startPostgres();
}, 60_000);

afterAll(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(drivers.splice(0).map((driver) => driver.close()));
  await Promise.all(daemons.splice(0).map((daemon) => daemon.close()));
  killAll(children);
  await pg?.stop();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

function hostPort(value: unknown): { host: string; port: number } {
  const text = String(value);
  const colon = text.lastIndexOf(':');
  return { host: text.slice(0, colon), port: Number(text.slice(colon + 1)) };
}

async function eventually<T>(attempt: () => Promise<T | undefined>, what: string, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const value = await attempt();
      if (value !== undefined) return value;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function rendezvous(url: string): Promise<Started> {
  return startProgram(
    ['--registry-addr', '127.0.0.1:0', '--beacon-addr', '127.0.0.1:0', '--tls=false', '--store', url],
    children,
  );
}

async function echo(driver: Driver, target: number, text: string): Promise<string> {
  const connection = await driver.dial(String(target), 7, { timeoutMs: 10_000 });
  const reply = new Promise<string>((resolve, reject) => {
    let got = '';
    connection.on('data', (chunk: Buffer) => {
      got += chunk.toString();
      if (got.length >= text.length) resolve(got);
    });
    connection.once('error', reject);
  });
  connection.write(text);
  const result = await reply;
  connection.end();
  return result;
}

describe('pilot-rendezvous on PostgreSQL: two instances, one network', () => {
  it('serves daemons through either instance and survives the SIGKILL of one', async () => {
    const url = pg.createDatabase('network');
    const a = await rendezvous(url);
    const b = await rendezvous(url);
    expect(a.announce.store).toBe(url);
    const registryA = hostPort(a.announce.registry);
    const registryB = hostPort(b.announce.registry);

    const daemon = (name: string, rdv: Started, fallback?: Started) =>
      startDaemon({
        home: join(dir, name),
        // alpha knows both instances (`--registry a,b`): it moves to B when A dies.
        registry: [rdv, ...(fallback === undefined ? [] : [fallback])]
          .map((instance) => String(instance.announce.registry))
          .join(','),
        beacon: String(rdv.announce.beacon),
        listen: '127.0.0.1:0',
        socket: join(dir, `${name}.sock`),
        hostname: name,
        handshakePoll: 200,
        heartbeat: 2000,
        logLevel: 'error',
      });
    const alpha = await daemon('alpha', a, b);
    daemons.push(alpha);
    const beta = await daemon('beta', b);
    daemons.push(beta);
    const aliceId = alpha.nodeId;
    const da = await Driver.connect(alpha.socket);
    const db = await Driver.connect(beta.socket);
    drivers.push(da, db);

    // Trust across instances: alpha's request lands through A, beta polls it through B.
    await da.handshake(beta.nodeId, 'across instances');
    await eventually(
      async () => ((await db.pending()).some((p) => p.node_id === alpha.nodeId) ? true : undefined),
      'the request at beta',
    );
    await db.approve(alpha.nodeId);
    await eventually(
      async () => ((await da.trusted()).some((t) => t.node_id === beta.nodeId) ? true : undefined),
      'trust at alpha',
    );
    // Found by name through the other instance once trusted: the directory is the shared database.
    expect((await da.resolveHostname('beta')).node_id).toBe(beta.nodeId);
    expect((await db.resolveHostname('alpha')).node_id).toBe(alpha.nodeId);
    // Resolved through A (beta's endpoint was written through B), then a tunnel: echo both ways.
    expect(await echo(da, beta.nodeId, 'ping from alpha')).toBe('ping from alpha');
    expect(await echo(db, alpha.nodeId, 'ping from beta')).toBe('ping from beta');

    // A stream of registrations through A; A is killed with SIGKILL while they flow. Every
    // registration A acknowledged must be readable through B.
    const loader = await DirectoryClient.connect({
      host: registryA.host,
      port: registryA.port,
      reconnectAttempts: 1,
      reconnectMaxDelayMs: 200,
    });
    clients.push(loader);
    const acknowledged: { nodeId: number; publicKey: string }[] = [];
    let stop = false;
    const writers = Array.from({ length: 4 }, async () => {
      while (!stop) {
        const signer = createSigner();
        try {
          const result = await loader.register(signer, { listenAddr: ':4000' });
          acknowledged.push({
            nodeId: result.nodeId,
            publicKey: Buffer.from(signer.publicKey).toString('base64'),
          });
        } catch {
          return;
        }
      }
    });
    await eventually(async () => (acknowledged.length >= 20 ? true : undefined), 'registrations flowing');
    await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 300)));
    a.child.kill('SIGKILL');
    await exited(a.child);
    stop = true;
    await Promise.all(writers);
    expect(acknowledged.length).toBeGreaterThanOrEqual(20);

    const reader = await DirectoryClient.connect({ host: registryB.host, port: registryB.port });
    clients.push(reader);
    for (const { nodeId, publicKey } of acknowledged)
      expect((await reader.lookup(nodeId)).publicKey).toBe(publicKey);

    // alpha's registry died: it moves to B and registers there (same key, same node id).
    await eventually(
      async () => {
        const info = alpha.info();
        return info.registry_active === b.announce.registry && info.registry_ok === true ? true : undefined;
      },
      'alpha on instance B',
      60_000,
    );
    expect((await da.resolveHostname('beta')).node_id).toBe(beta.nodeId);
    expect(alpha.nodeId).toBe(aliceId);
    // The tunnel does not depend on the registry: alpha and beta still talk, and beta, on B, still
    // resolves alpha by name.
    expect(await echo(da, beta.nodeId, 'after the kill')).toBe('after the kill');
    expect((await db.resolveHostname('alpha')).node_id).toBe(alpha.nodeId);
    b.child.kill('SIGTERM');
    expect(await exited(b.child)).toBe(0);
  }, 180_000);
});
