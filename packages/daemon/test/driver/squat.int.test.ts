import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPilotError } from '@pilot/wire';
import { afterEach, describe, expect, it } from 'vitest';
import { Driver, DriverErrorCode } from '../../src/driver/index.js';

// Attack 5: another local user creates the socket first and poses as the daemon. The attacker is a
// real process running as another user (nobody), so this needs root to set it up.
const asRoot = process.getuid?.() === 0;
const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Listens on `path` as uid 65534 and writes how many bytes its clients sent to `log`. */
const SQUATTER = `
const net = require('node:net'); const fs = require('node:fs');
const [path, log] = process.argv.slice(1);
let received = 0;
const server = net.createServer((socket) => socket.on('data', (chunk) => {
  received += chunk.length; fs.writeFileSync(log, String(received));
}));
server.listen(path, () => { fs.chmodSync(path, 0o777); process.stdout.write('ready\\n'); });
`;

describe.skipIf(!asRoot)('a squatted IPC socket', () => {
  it('is refused before a byte is sent to it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pilot-squat-'));
    dirs.push(dir);
    chmodSync(dir, 0o777);
    const path = join(dir, 'pilot.sock');
    const log = join(dir, 'received');
    const squatter = spawn(process.execPath, ['-e', SQUATTER, path, log], {
      uid: 65534,
      gid: 65534,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(squatter);
    await new Promise<void>((resolve, reject) => {
      squatter.stdout?.once('data', () => resolve());
      squatter.once('exit', (code) => reject(new Error(`squatter exited ${code}`)));
    });
    let error: unknown;
    try {
      const driver = await Driver.connect(path);
      await driver.info({ timeoutMs: 1000 }).catch(() => undefined);
      await driver.close();
    } catch (caught) {
      error = caught;
    }
    expect(isPilotError(error, DriverErrorCode.UNTRUSTED_SOCKET)).toBe(true);
    expect((error as Error).message).toContain('uid 65534');
    // The squatter heard nothing.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(() => readFileSync(log, 'utf8')).toThrow();
  });
});
