import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { isPilotError } from '@pilot/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Driver, type PilotConnection } from '../../src/driver/index.js';
import type { Daemon } from '../../src/index.js';
import { startNode, TestRendezvous, tempDir } from '../helpers.js';

// The worker's stderr pipe is opened lazily: open it before the leak check's baseline.
void process.stderr;

const dir = tempDir('pilot-driver-int-');
let rdv: TestRendezvous | undefined;
const daemons: Daemon[] = [];
const drivers: Driver[] = [];
let alpha: Daemon;
let beta: Daemon;

async function driverFor(daemon: Daemon): Promise<Driver> {
  const info = daemon.info() as { socket?: string };
  const driver = await Driver.connect(info.socket);
  drivers.push(driver);
  return driver;
}

function collect(stream: PilotConnection): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

beforeAll(async () => {
  rdv = await TestRendezvous.start(dir.path);
  alpha = await startNode(rdv, dir.path, 'alpha');
  beta = await startNode(rdv, dir.path, 'beta', { public: true });
  daemons.push(alpha, beta);
}, 60_000);

afterAll(async () => {
  await Promise.all(drivers.map((driver) => driver.close()));
  await Promise.all(daemons.map((daemon) => daemon.close()));
  await rdv?.close();
  dir.cleanup();
}, 60_000);

describe('Driver against the real daemon', () => {
  it('reads Info and resolves hostnames', async () => {
    const driver = await driverFor(alpha);
    const info = await driver.info();
    expect(info.node_id).toBe(alpha.nodeId);
    expect(info.address).toBe(alpha.address);
    expect((await driver.resolveHostname('beta')).node_id).toBe(beta.nodeId);
    const ghost = await driver.resolveHostname('ghost').catch((e: unknown) => e);
    expect(isPilotError(ghost, 'DAEMON_NOT_FOUND')).toBe(true);
  });

  it('dials the echo service by hostname and streams 4 MiB through it with back-pressure', async () => {
    const driver = await driverFor(alpha);
    const stream = await driver.dial('beta', 7);
    const payload = randomBytes(4 * 1_048_576);
    const received = new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let have = 0;
      stream.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        have += chunk.length;
        if (have >= payload.length) resolve(Buffer.concat(chunks));
      });
      stream.once('error', reject);
    });
    stream.write(payload);
    const back = await received;
    expect(createHash('sha256').update(back).digest('hex')).toBe(
      createHash('sha256').update(payload).digest('hex'),
    );
    stream.end();
  }, 60_000);

  it('listens on a port: the peer dials it, both directions carry data, Close ends both sides', async () => {
    const server = await driverFor(beta);
    const client = await driverFor(alpha);
    const listener = server.listen(5500);
    expect(await listener.ready).toBe(5500);
    const accepted = (async () => {
      for await (const connection of listener) return connection;
      throw new Error('listener ended');
    })();
    const outgoing = await client.dial(beta.address, 5500);
    outgoing.write('hello beta');
    const incoming = await accepted;
    expect(incoming.remoteAddress).toBe(alpha.address);
    expect(incoming.localPort).toBe(5500);
    // IPC Close closes both directions (there is no half-close): read what came before replying and ending.
    const [request] = (await once(incoming, 'data')) as [Buffer];
    expect(request.toString()).toBe('hello beta');
    const fromBeta = collect(outgoing);
    incoming.end('hello alpha');
    expect((await fromBeta).toString()).toBe('hello alpha');
    await listener.close();
  }, 60_000);

  it('a second Bind of a taken port is DAEMON_ALREADY_EXISTS', async () => {
    const driver = await driverFor(beta);
    const listener = driver.listen(7);
    const error = await listener.ready.catch((e: unknown) => e);
    expect(isPilotError(error, 'DAEMON_ALREADY_EXISTS')).toBe(true);
  });

  it('sends and receives datagrams', async () => {
    const receiver = await driverFor(beta);
    const sender = await driverFor(alpha);
    const datagrams = receiver.datagrams({ port: 6100 });
    const iterator = datagrams[Symbol.asyncIterator]();
    const first = iterator.next();
    let got: IteratorResult<{ source: string; data: Uint8Array }> | undefined;
    void first.then((result) => {
      got = result;
    });
    for (let i = 0; i < 50 && got === undefined; i++) {
      await sender.sendTo(beta.address, 6100, Buffer.from('datagram'));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const result = await first;
    expect(result.value?.source).toBe(alpha.address);
    expect(Buffer.from(result.value?.data ?? []).toString()).toBe('datagram');
    datagrams.close();
  }, 60_000);

  it('a dial to an unregistered node is a typed DAEMON_* error', async () => {
    const driver = await driverFor(alpha);
    const error = await driver.dial('0:0000.0000.7777', 7).catch((e: unknown) => e);
    expect(isPilotError(error)).toBe(true);
    expect(String((error as { code: string }).code)).toMatch(
      /^DAEMON_(NOT_FOUND|CONNECTION_FAILED|TIMEOUT)$/,
    );
  }, 60_000);
});
