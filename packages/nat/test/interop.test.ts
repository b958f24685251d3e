// Interop with STUN implementations no one here wrote: coturn's `turnserver` (RFC 5389/8489 server)
// and `turnutils_stunclient` (client), and Debian's `stun` (the Vovida RFC 3489 client).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Beacon, stunBinding, type UdpAddress } from '../src/index.js';
import { addressOf, closeAll, udp } from './helpers.js';

/** True when `binary` is an executable file on PATH (or /usr/bin, /usr/sbin). */
function has(binary: string): boolean {
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/bin', '/usr/sbin']);
  return dirs.some((dir) => {
    try {
      return statSync(join(dir, binary)).isFile();
    } catch {
      return false;
    }
  });
}

async function freePort(): Promise<number> {
  const s = await udp();
  const { port } = s.address();
  await closeAll([s]);
  return port;
}

function run(file: string, args: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (_error, stdout, stderr) =>
      resolve(`${stdout}${stderr}`),
    );
  });
}

const haveCoturn = has('turnserver');
const haveStunClient = has('turnutils_stunclient');
const haveClassic = has('stun');

describe.skipIf(!haveCoturn)('our STUN client against coturn (needs Debian package coturn)', () => {
  let server: ChildProcess | undefined;
  let dir = '';
  let target: UdpAddress = { address: '127.0.0.1', port: 0 };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pilot-coturn-'));
    target = { address: '127.0.0.1', port: await freePort() };
    server = spawn(
      'turnserver',
      [
        '-n',
        '--stun-only',
        '--listening-ip',
        '127.0.0.1',
        '--listening-port',
        String(target.port),
        '--no-cli',
        '--no-tls',
        '--no-dtls',
        '--userdb',
        join(dir, 'turndb'),
        '--pidfile',
        join(dir, 'turnserver.pid'),
        '--log-file',
        'stdout',
      ],
      { stdio: 'ignore' },
    );
    // Ready when it answers.
    const probe = await udp();
    try {
      const deadline = Date.now() + 10_000;
      for (;;) {
        try {
          await stunBinding(probe, target, { rto: 100, retries: 1, timeout: 300 });
          break;
        } catch (error) {
          if (Date.now() > deadline) throw error;
        }
      }
    } finally {
      await closeAll([probe]);
    }
  });

  afterAll(async () => {
    if (server !== undefined && server.exitCode === null) {
      const exited = new Promise((resolve) => server?.once('exit', resolve));
      server.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('gets our reflexive address with a padded request (FINGERPRINT, SOFTWARE) and a bare one', async () => {
    const s = await udp();
    try {
      const padded = await stunBinding(s, target, { rto: 100, retries: 3 });
      expect(padded.reflexive).toEqual(addressOf(s));
      const bare = await stunBinding(s, target, { rto: 100, retries: 3, padTo: 0, fingerprint: false });
      expect(bare.reflexive).toEqual(addressOf(s));
    } finally {
      await closeAll([s]);
    }
  });
});

describe('real STUN clients against our beacon', () => {
  let beacon: Beacon;

  beforeAll(async () => {
    beacon = await Beacon.start({ host: '127.0.0.1', port: 0, amplification: 'compatible' });
  });

  afterAll(async () => {
    await beacon.close();
  });

  it.skipIf(!haveStunClient)(
    'coturn turnutils_stunclient (RFC 5389) reads its reflexive address (needs coturn)',
    async () => {
      const out = await run('turnutils_stunclient', ['-p', String(beacon.address().port), '127.0.0.1'], 5000);
      expect(out).toMatch(/UDP reflexive addr: 127\.0\.0\.1:\d+/);
      expect(beacon.stats().stunResponses).toBeGreaterThanOrEqual(1);
    },
  );

  it.skipIf(!haveClassic)(
    'Debian stun (RFC 3489 classic) gets MAPPED-ADDRESS for test I (needs stun-client)',
    async () => {
      const before = beacon.stats().stunResponses;
      const out = await run('stun', [`127.0.0.1:${beacon.address().port}`, '-v'], 8000);
      expect(out).toMatch(/MappedAddress = 127\.0\.0\.1:\d+/);
      expect(out).toMatch(/test I = 1/);
      expect(beacon.stats().stunResponses).toBeGreaterThan(before);
      // Its change-address tests are not answered: one address, one port.
      expect(beacon.stats().droppedStunUnsupported).toBeGreaterThan(0);
    },
  );
});
