import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSigner, DirectoryClient } from '@pilot/directory/client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { exited, killAll, MAIN, type Program, startProgram } from './program.js';

const dir = mkdtempSync(join(tmpdir(), 'rdv-int-'));
const children: Program[] = [];
const start = (args: string[]) => startProgram(args, children);
const clients: DirectoryClient[] = [];

afterEach(() => {
  for (const client of clients.splice(0)) client.close();
  killAll(children);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

describe('pilot-rendezvous', () => {
  it('serves the registry, stops cleanly on SIGTERM, and keeps its data across a restart', async () => {
    const port = await freePort();
    const store = join(dir, 'data', 'registry.db');
    const args = ['--registry-addr', `127.0.0.1:${port}`, '--beacon-addr', '127.0.0.1:0', '--store', store];
    const first = await start(args);
    expect(first.announce).toMatchObject({
      level: 'info',
      msg: `pilot-rendezvous: registry listening on 127.0.0.1:${port}`,
      registry: `127.0.0.1:${port}`,
      tls: true,
      store,
    });
    // TLS by default, with a self-signed certificate kept beside the store and announced by its fingerprint.
    const fingerprint = String(first.announce.fingerprint);
    expect(fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(
      new X509Certificate(readFileSync(join(dir, 'data', 'registry-tls.crt'))).fingerprint256
        .replace(/:/g, '')
        .toLowerCase(),
    ).toBe(fingerprint);
    expect(statSync(join(dir, 'data', 'registry-tls.key')).mode & 0o077).toBe(0);
    const pinned = await DirectoryClient.connect({ host: '127.0.0.1', port, tls: { pin: fingerprint } });
    clients.push(pinned);
    await pinned.register(createSigner(), { listenAddr: ':4001' });
    pinned.close();

    const client = await DirectoryClient.connect({ host: '127.0.0.1', port });
    clients.push(client);
    const alice = createSigner();
    const { nodeId } = await client.register(alice, { listenAddr: ':4000', hostname: 'alice' });
    expect(await client.lookup(nodeId)).toMatchObject({ nodeId, hostname: 'alice' });
    // A request in flight when the signal lands is still answered.
    const inFlight = client.heartbeat(alice, nodeId);
    first.child.kill('SIGTERM');
    await expect(inFlight).resolves.toBeGreaterThan(0);
    expect(await exited(first.child)).toBe(0);
    expect(first.stderr()).toContain('"msg":"shutting down"');
    client.close();

    const second = await start(args);
    // The same certificate after a restart: pins stay valid.
    expect(second.announce.fingerprint).toBe(fingerprint);
    const again = await DirectoryClient.connect({ host: '127.0.0.1', port });
    clients.push(again);
    const info = await again.lookup(nodeId);
    expect(info).toMatchObject({ nodeId, hostname: 'alice' });
    expect(info.publicKey).toBe(Buffer.from(alice.publicKey).toString('base64'));
    again.close();
    second.child.kill('SIGINT');
    expect(await exited(second.child)).toBe(0);
  });

  it('exits 2 with a message on a bad flag, 1 when it cannot start, 0 on --help', async () => {
    const bad = spawnSync(process.execPath, [MAIN, '--registry-adr', ':9000'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('unknown flag --registry-adr [RDV_BAD_FLAG]');

    const help = spawnSync(process.execPath, [MAIN, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--registry-addr');

    // The port is taken by a running instance: a start failure, not a usage error.
    const port = await freePort();
    const running = await start([
      '--registry-addr',
      `127.0.0.1:${port}`,
      '--beacon-addr',
      '127.0.0.1:0',
      '--store',
      join(dir, 'b.db'),
    ]);
    const clash = spawnSync(
      process.execPath,
      [
        MAIN,
        '--registry-addr',
        `127.0.0.1:${port}`,
        '--beacon-addr',
        '127.0.0.1:0',
        '--store',
        join(dir, 'c.db'),
      ],
      {
        encoding: 'utf8',
      },
    );
    expect(clash.status).toBe(1);
    expect(clash.stderr).toContain('RDV_START_FAILED');
    running.child.kill('SIGTERM');
    expect(await exited(running.child)).toBe(0);
  });
});
