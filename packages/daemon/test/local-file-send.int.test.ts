// SendFile (pilot-ts IPC extension): the daemon reads a local file into its client's data-exchange
// connection itself. Real daemons, real sockets, the real Driver. What must hold: the peer gets
// exactly the FILE frames pilotctl would send; the daemon declines (nothing written) whenever it
// cannot be sure the file is the client's to send: another file at that path, a socket other users
// can reach, a connection that is not data exchange.
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataExchangeType, encodeFilePayload, encodeServiceFrame, ServiceFrameDecoder } from '@pilot/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Driver, type LocalFile, type PilotConnection } from '../src/driver/index.js';
import type { Daemon } from '../src/index.js';
import { eventually, startNode, TestRendezvous, tempDir } from './helpers.js';

void process.stderr;

const dir = tempDir('pilot-daemon-sendfile-');
let rdv: TestRendezvous | undefined;
let alpha: Daemon;
let beta: Daemon;
const drivers: Driver[] = [];

beforeAll(async () => {
  rdv = await TestRendezvous.start(dir.path);
  alpha = await startNode(rdv, dir.path, 'alpha');
  beta = await startNode(rdv, dir.path, 'beta', { public: true });
}, 60_000);

afterAll(async () => {
  await Promise.all(drivers.map((d) => d.close()));
  await Promise.all([alpha, beta].map((d) => d?.close()));
  await rdv?.close();
  dir.cleanup();
});

async function driverOf(daemon: Daemon): Promise<Driver> {
  const driver = await Driver.connect(daemon.socket);
  drivers.push(driver);
  return driver;
}

function localFile(path: string, name: string): LocalFile {
  const info = statSync(path);
  return { path, name, size: info.size, dev: info.dev, ino: info.ino };
}

/** The peer's answers (ACK/ERR texts) until `count` arrived. */
async function answers(stream: PilotConnection, count: number): Promise<string[]> {
  const decoder = new ServiceFrameDecoder();
  const out: string[] = [];
  for await (const chunk of stream) {
    for (const frame of decoder.push(chunk as Buffer)) out.push(Buffer.from(frame.payload).toString());
    if (out.length >= count) break;
  }
  return out;
}

const received = (): string[] => readdirSync(join(dir.path, 'beta', 'received'));

describe('SendFile: the daemon reads the local file itself', () => {
  it('sends a file over one frame as consecutive FILE frames, as pilotctl would', async () => {
    const content = randomBytes(16 * 1024 * 1024 + 4321);
    const path = join(dir.path, 'big.bin');
    writeFileSync(path, content);
    const driver = await driverOf(alpha);
    const stream = await driver.dial(String(beta.nodeId), 1001, { timeoutMs: 30_000 });
    const sent = await driver.sendFile(stream, localFile(path, 'big.bin'));
    const sha256 = createHash('sha256').update(content).digest('hex');
    expect(sent).toEqual({ bytes: content.length, frames: 2, sha256 });
    const slice = 16 * 1024 * 1024 - 2 - 'big.bin'.length;
    expect(await answers(stream, 2)).toEqual([
      `ACK FILE ${slice} bytes`,
      `ACK FILE ${content.length - slice} bytes`,
    ]);
    stream.end();
    await eventually(() => received().some((f) => f.startsWith('big-')), 20_000, 'the received file');
    const name = received().find((f) => f.startsWith('big-')) as string;
    await eventually(
      () => statSync(join(dir.path, 'beta', 'received', name)).size === content.length,
      20_000,
      'all of it',
    );
    expect(
      createHash('sha256')
        .update(readFileSync(join(dir.path, 'beta', 'received', name)))
        .digest('hex'),
    ).toBe(sha256);
  }, 120_000);

  it('declines, writing nothing, when the path names another file than the client saw', async () => {
    const path = join(dir.path, 'small.txt');
    writeFileSync(path, 'hello');
    const driver = await driverOf(alpha);
    const stream = await driver.dial(String(beta.nodeId), 1001, { timeoutMs: 30_000 });
    const file = localFile(path, 'small.txt');
    expect(await driver.sendFile(stream, { ...file, ino: file.ino + 1 })).toBeUndefined();
    expect(await driver.sendFile(stream, { ...file, size: 6 })).toBeUndefined();
    expect(await driver.sendFile(stream, { ...file, path: 'small.txt' })).toBeUndefined();
    expect(await driver.sendFile(stream, { ...file, path: join(dir.path, 'nope') })).toBeUndefined();
    // The connection is untouched: the client can still send the frame itself.
    stream.write(
      encodeServiceFrame({
        type: DataExchangeType.FILE,
        payload: encodeFilePayload({ name: 'small.txt', data: Buffer.from('hello') }),
      }),
    );
    expect(await answers(stream, 1)).toEqual(['ACK FILE 5 bytes']);
    stream.end();
  }, 60_000);

  it('declines when the IPC socket is reachable by other users (attack: a loosened socket reads files)', async () => {
    const secret = join(dir.path, 'secret.txt');
    writeFileSync(secret, 'the owner only');
    const driver = await driverOf(alpha);
    const stream = await driver.dial(String(beta.nodeId), 1001, { timeoutMs: 30_000 });
    const before = received().length;
    chmodSync(alpha.socket, 0o666);
    try {
      expect(await driver.sendFile(stream, localFile(secret, 'secret.txt'))).toBeUndefined();
    } finally {
      chmodSync(alpha.socket, 0o600);
    }
    stream.end();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(received().length).toBe(before);
  }, 60_000);

  it('declines on a connection that is not data exchange', async () => {
    const path = join(dir.path, 'echo.txt');
    writeFileSync(path, 'not for echo');
    const driver = await driverOf(alpha);
    const stream = await driver.dial(String(beta.nodeId), 7, { timeoutMs: 30_000 });
    expect(await driver.sendFile(stream, localFile(path, 'echo.txt'))).toBeUndefined();
    stream.end();
  }, 60_000);
});
