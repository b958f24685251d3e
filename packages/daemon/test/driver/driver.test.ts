import { once } from 'node:events';
import { formatAddress, type IpcMessage, isPilotError, parseAddress } from '@pilot/wire';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DAEMON_WIRE_CODES,
  Driver,
  type DriverOptions,
  type PilotConnection,
  SEND_SLICE_BYTES,
} from '../../src/driver/index.js';
import { type FakeClient, FakeDaemon } from './fake-daemon.js';

const PEER = parseAddress('0:0000.0000.0007');

let fake: FakeDaemon;
let driver: Driver | undefined;

async function connected(options: DriverOptions = {}): Promise<{ driver: Driver; client: FakeClient }> {
  const arrival = fake.nextClient();
  driver = await Driver.connect(fake.path, options);
  return { driver, client: await arrival };
}

async function readAll(stream: PilotConnection): Promise<Buffer> {
  const chunks: Buffer[] = [];
  // Not `for await (… of stream)`: its end destroys the whole Duplex, and our writes in flight with it.
  for await (const chunk of stream.iterator({ destroyOnReturn: false })) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

// The worker's stderr pipe is opened lazily, the first time anything writes to it: open it before the
// leak check's baseline so that it is not counted as a handle of ours.
void process.stderr;

beforeEach(async () => {
  fake = await FakeDaemon.start();
});

afterEach(async () => {
  await driver?.close();
  driver = undefined;
  await fake.close();
});

describe('Driver over a fake IPC server', () => {
  it('says DRIVER_NOT_RUNNING when nobody listens at the socket', async () => {
    const error = await Driver.connect(`${fake.path}.missing`).catch((e: unknown) => e);
    expect(isPilotError(error, 'DRIVER_NOT_RUNNING')).toBe(true);
  });

  it('sends Info byte-exact and parses InfoOK', async () => {
    fake.onMessage = (client, message) => {
      if (message.type === 'info') {
        client.send({ type: 'infoOk', json: JSON.stringify({ node_id: 5, address: '0:0000.0000.0005' }) });
      }
    };
    const { driver, client } = await connected();
    const info = await driver.info();
    expect(info.node_id).toBe(5);
    expect(Buffer.from(client.raw[0] ?? []).toString('hex')).toBe('0d');
  });

  it('matches replies FIFO per reply type, an Error answering the oldest request', async () => {
    const { driver, client } = await connected({ channels: 1 });
    const first = driver.info();
    const host = driver.resolveHostname('alpha');
    const second = driver.info();
    await client.waitFor(3);
    expect(Buffer.from(client.raw[1] ?? []).toString()).toBe('\x11alpha');
    // Out of order across types: the hostname reply first, then an Error (for the first Info), then InfoOK.
    client.send(
      { type: 'resolveHostnameOk', json: '{"node_id":9,"address":"0:0000.0000.0009","hostname":"alpha"}' },
      { type: 'error', code: DAEMON_WIRE_CODES.DAEMON_UNAVAILABLE, message: 'registry down' },
      { type: 'infoOk', json: '{"node_id":1,"address":"0:0000.0000.0001"}' },
    );
    const failure = await first.catch((e: unknown) => e);
    expect(isPilotError(failure, 'DAEMON_UNAVAILABLE')).toBe(true);
    expect((await host).node_id).toBe(9);
    expect((await second).node_id).toBe(1);
  });

  it('puts a request that would wait behind one of its kind on a second IPC connection', async () => {
    const { driver, client } = await connected();
    const first = driver.info();
    const second = fake.nextClient();
    const other = driver.info();
    const host = driver.resolveHostname('alpha');
    const secondClient = await second;
    await client.waitFor(2);
    await secondClient.waitFor(1);
    // The first connection got Info then ResolveHostname (different reply types); the second, Info.
    expect(Buffer.from(client.raw[0] ?? []).toString('hex')).toBe('0d');
    expect(Buffer.from(client.raw[1] ?? []).toString()).toBe('\x11alpha');
    expect(Buffer.from(secondClient.raw[0] ?? []).toString('hex')).toBe('0d');
    // The second Info is answered first, on its own connection.
    secondClient.send({ type: 'infoOk', json: '{"node_id":2,"address":"b"}' });
    expect((await other).node_id).toBe(2);
    client.send(
      { type: 'resolveHostnameOk', json: '{"node_id":9,"address":"0:0000.0000.0009","hostname":"alpha"}' },
      { type: 'infoOk', json: '{"node_id":1,"address":"a"}' },
    );
    expect((await first).node_id).toBe(1);
    expect((await host).node_id).toBe(9);
    // Either connection lost means the daemon is gone: the driver fails as a whole.
    const pending = driver.info();
    secondClient.socket.destroy();
    expect(isPilotError(await pending.catch((e: unknown) => e), 'DRIVER_DISCONNECTED')).toBe(true);
    expect(driver.closed).toBe(true);
  });

  it('maps every daemon error code to DAEMON_*', async () => {
    const { driver, client } = await connected();
    for (const [code, wire] of Object.entries(DAEMON_WIRE_CODES)) {
      const asked = driver.health();
      client.send({ type: 'error', code: wire, message: 'x' });
      const error = await asked.catch((e: unknown) => e);
      expect(isPilotError(error, code)).toBe(true);
    }
    const asked = driver.health();
    client.send({ type: 'error', code: 999, message: 'odd' });
    expect(isPilotError(await asked.catch((e: unknown) => e), 'DAEMON_INTERNAL')).toBe(true);
  });

  it('dials, gets data that arrives in the same chunk as DialOK, writes in slices, closes', async () => {
    fake.onMessage = (client, message) => {
      if (message.type === 'dial') {
        client.send(
          { type: 'dialOk', connId: 42 },
          { type: 'recv', connId: 42, data: Buffer.from('hello ') },
          { type: 'recv', connId: 42, data: Buffer.from('world') },
        );
      }
      if (message.type === 'close') client.send({ type: 'closeOk', connId: message.connId });
    };
    const { driver, client } = await connected();
    const stream = await driver.dial('0:0000.0000.0007', 1000);
    expect(stream.remoteAddress).toBe('0:0000.0000.0007');
    expect(Buffer.from(client.raw[0] ?? []).toString('hex')).toBe('03000000000007' + '03e8');
    const big = Buffer.alloc(SEND_SLICE_BYTES * 2 + 10, 7);
    stream.end(big);
    const received = await readAll(stream);
    expect(received.toString()).toBe('hello world');
    const sends = client.received.filter(
      (m): m is Extract<IpcMessage, { type: 'send' }> => m.type === 'send',
    );
    expect(sends.map((m) => m.data.length)).toEqual([SEND_SLICE_BYTES, SEND_SLICE_BYTES, 10]);
    expect(sends.every((m) => m.connId === 42)).toBe(true);
    expect(client.received.at(-1)).toEqual({ type: 'close', connId: 42 });
  });

  it('turns a refused dial into DAEMON_NOT_TRUSTED and resolves hostnames first', async () => {
    fake.onMessage = (client, message) => {
      if (message.type === 'resolveHostname') {
        client.send({
          type: 'resolveHostnameOk',
          json: '{"node_id":7,"address":"0:0000.0000.0007","hostname":"bob"}',
        });
      }
      if (message.type === 'dial') {
        expect(message.address).toEqual(PEER);
        client.send({ type: 'error', code: 7, message: 'peer not trusted' });
      }
    };
    const { driver } = await connected();
    const error = await driver.dial('bob', 7).catch((e: unknown) => e);
    expect(isPilotError(error, 'DAEMON_NOT_TRUSTED')).toBe(true);
    const bad = await driver.dial('not an address!', 7).catch((e: unknown) => e);
    expect(isPilotError(bad, 'DRIVER_BAD_ARGUMENT')).toBe(true);
  });

  it('listens: Bind, Accept to the listener, remote close via CloseOK', async () => {
    fake.onMessage = (client, message) => {
      if (message.type === 'bind') client.send({ type: 'bindOk', port: message.port });
    };
    const { driver, client } = await connected();
    const listener = driver.listen(1000);
    expect(await listener.ready).toBe(1000);
    expect(Buffer.from(client.raw[0] ?? []).toString('hex')).toBe('0103e8');
    client.send(
      { type: 'accept', localPort: 1000, connId: 3, remoteAddress: PEER, remotePort: 49152 },
      { type: 'recv', connId: 3, data: Buffer.from('ping') },
      { type: 'closeOk', connId: 3 },
    );
    const iterator = listener[Symbol.asyncIterator]();
    const next = await iterator.next();
    const incoming = next.value as PilotConnection;
    expect(incoming.remoteAddress).toBe(formatAddress(PEER));
    expect(incoming.remotePort).toBe(49152);
    expect(incoming.localPort).toBe(1000);
    incoming.end('pong');
    expect((await readAll(incoming)).toString()).toBe('ping');
    await client.waitFor(3);
    expect(
      client.received
        .slice(1)
        .map((m) => ('data' in m ? [m.type, Buffer.from(m.data).toString()] : [m.type])),
    ).toEqual([['send', 'pong'], ['close']]);
    await listener.close();
    expect((await iterator.next()).done).toBe(true);
  });

  it('leaving the accept loop closes the listener; later arrivals on its port are closed', async () => {
    fake.onMessage = (client, message) => {
      if (message.type === 'bind') client.send({ type: 'bindOk', port: message.port });
    };
    const { driver, client } = await connected();
    const listener = driver.listen(2000);
    await listener.ready;
    client.send({ type: 'accept', localPort: 2000, connId: 1, remoteAddress: PEER, remotePort: 1 });
    for await (const connection of listener) {
      connection.destroy();
      break;
    }
    expect(listener.closed).toBe(true);
    client.send({ type: 'accept', localPort: 2000, connId: 2, remoteAddress: PEER, remotePort: 2 });
    await client.waitFor(3);
    expect(client.received.slice(1)).toEqual([
      { type: 'close', connId: 1 },
      { type: 'close', connId: 2 },
    ]);
  });

  it('hands errors that answer no request to onStrayError', async () => {
    const arrival = fake.nextClient();
    const strays: unknown[] = [];
    driver = await Driver.connect(fake.path, { onStrayError: (error) => strays.push(error) });
    const client = await arrival;
    client.send({ type: 'error', code: 4, message: 'send failed' });
    while (strays.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const info = driver.info();
    client.send({ type: 'infoOk', json: '{"node_id":3,"address":"x"}' });
    expect((await info).node_id).toBe(3);
    expect(strays).toHaveLength(1);
    expect(isPilotError(strays[0], 'DAEMON_CONNECTION_FAILED')).toBe(true);
  });

  it('a refused Bind rejects the listener', async () => {
    fake.onMessage = (client, message) => {
      if (message.type === 'bind') client.send({ type: 'error', code: 6, message: 'port 7 in use' });
    };
    const { driver } = await connected();
    const listener = driver.listen(7);
    expect(isPilotError(await listener.ready.catch((e: unknown) => e), 'DAEMON_ALREADY_EXISTS')).toBe(true);
    const failure = await listener[Symbol.asyncIterator]()
      .next()
      .catch((e: unknown) => e);
    expect(isPilotError(failure, 'DAEMON_ALREADY_EXISTS')).toBe(true);
  });

  it('100 datagrams waiting for one drain share a waiter: no MaxListeners warning, all done in order', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning);
    };
    process.on('warning', onWarning);
    try {
      const { driver, client } = await connected();
      // The daemon stops reading: the driver's socket buffer (256 KiB) fills and writers wait for 'drain'.
      client.socket.pause();
      const count = 100;
      const done: number[] = [];
      const sends = Array.from({ length: count }, (_, i) => {
        const data = Buffer.alloc(8 * 1024, i);
        return driver.sendTo(PEER, 2000, data).then(() => {
          done.push(i);
        });
      });
      // Let every send reach the socket and wait (Node's warning is emitted on the next tick).
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(done.length).toBeLessThan(count);
      client.socket.resume();
      await Promise.all(sends);
      await client.waitFor(count);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
      expect(done).toEqual(Array.from({ length: count }, (_, i) => i));
      expect(client.received.map((m) => (m.type === 'sendTo' ? (m.data[0] ?? -1) : -1))).toEqual(
        Array.from({ length: count }, (_, i) => i),
      );
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('sends and receives datagrams', async () => {
    const { driver, client } = await connected();
    const all = driver.datagrams();
    const onlyPort = driver.datagrams({ port: 2000 });
    await driver.sendTo(PEER, 2000, Buffer.from('hi'));
    await client.waitFor(1);
    expect(Buffer.from(client.raw[0] ?? []).toString('hex')).toBe('0b000000000007' + '07d0' + '6869');
    client.send(
      { type: 'recvFrom', remoteAddress: PEER, remotePort: 50000, localPort: 1000, data: Buffer.from('a') },
      { type: 'recvFrom', remoteAddress: PEER, remotePort: 50001, localPort: 2000, data: Buffer.from('b') },
    );
    const a = all[Symbol.asyncIterator]();
    expect((await a.next()).value).toMatchObject({
      source: '0:0000.0000.0007',
      sourcePort: 50000,
      port: 1000,
    });
    expect((await a.next()).value).toMatchObject({ port: 2000 });
    const b = await onlyPort[Symbol.asyncIterator]().next();
    expect(Buffer.from(b.value?.data ?? []).toString()).toBe('b');
    all.close();
    onlyPort.close();
  });

  it('closes another connection by ID (disconnect) and reports a missing one', async () => {
    fake.onMessage = (client, message) => {
      if (message.type === 'close') {
        if (message.connId === 5) client.send({ type: 'closeOk', connId: 5 });
        else client.send({ type: 'error', code: 3, message: 'no such connection' });
      }
    };
    const { driver } = await connected();
    await driver.closeConnection(5);
    expect(isPilotError(await driver.closeConnection(6).catch((e: unknown) => e), 'DAEMON_NOT_FOUND')).toBe(
      true,
    );
  });

  it('pauses the IPC socket while a reader is full, and loses nothing', async () => {
    const total = 8 * 1024 * 1024;
    const chunk = Buffer.alloc(60_000, 1);
    let serverBlocked = false;
    fake.onMessage = (client, message) => {
      if (message.type !== 'dial') return;
      client.send({ type: 'dialOk', connId: 1 });
      let sent = 0;
      const pump = (): void => {
        while (sent < total) {
          const size = Math.min(chunk.length, total - sent);
          sent += size;
          if (!client.send({ type: 'recv', connId: 1, data: chunk.subarray(0, size) })) {
            serverBlocked = true;
            client.socket.once('drain', pump);
            return;
          }
        }
        client.send({ type: 'closeOk', connId: 1 });
      };
      pump();
    };
    const { driver } = await connected();
    const stream = await driver.dial(PEER, 7);
    // Nobody reads for a while: the driver must stop reading the socket rather than buffer 8 MiB.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(stream.readableLength).toBeLessThan(total / 2);
    expect(serverBlocked).toBe(true);
    const received = await readAll(stream);
    expect(received.length).toBe(total);
  });

  it('times out a request and gives the late reply to nobody', async () => {
    const { driver, client } = await connected({ channels: 1 });
    const late = await driver.info({ timeoutMs: 50 }).catch((e: unknown) => e);
    expect(isPilotError(late, 'DRIVER_TIMEOUT')).toBe(true);
    const next = driver.info();
    client.send(
      { type: 'infoOk', json: '{"node_id":1,"address":"a"}' },
      { type: 'infoOk', json: '{"node_id":2,"address":"b"}' },
    );
    expect((await next).node_id).toBe(2);
  });

  it('fails streams and requests with DRIVER_DISCONNECTED when the daemon goes away', async () => {
    fake.onMessage = (client, message) => {
      if (message.type === 'dial') client.send({ type: 'dialOk', connId: 1 });
    };
    const { driver, client } = await connected();
    const stream = await driver.dial(PEER, 1000);
    const errored = once(stream, 'error');
    const pending = driver.info();
    await client.waitFor(2);
    client.socket.destroy();
    const [error] = await errored;
    expect(isPilotError(error, 'DRIVER_DISCONNECTED')).toBe(true);
    expect(isPilotError(await pending.catch((e: unknown) => e), 'DRIVER_DISCONNECTED')).toBe(true);
    expect(driver.closed).toBe(true);
  });

  it('gives up on a daemon that breaks the framing', async () => {
    const { driver, client } = await connected();
    const pending = driver.info();
    client.socket.write(Buffer.from([0, 0, 0, 1, 0xee]));
    expect(isPilotError(await pending.catch((e: unknown) => e), 'DRIVER_BAD_REPLY')).toBe(true);
  });
});
