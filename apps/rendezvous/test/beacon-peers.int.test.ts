// Two rendezvous instances whose beacons are peers (`--beacon-peers`): a node held by one beacon is
// relayed to from a node held by the other — the relay half of "several instances, one network".

import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BeaconClient } from '@pilot/nat';
import { encodeBeaconMessage } from '@pilot/wire';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { killAll, type Program, startProgram } from './program.js';

const dir = mkdtempSync(join(tmpdir(), 'rdv-peers-'));
const children: Program[] = [];
const sockets: Socket[] = [];
const clients: BeaconClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
  for (const socket of sockets.splice(0)) socket.close();
  killAll(children);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function udp(): Promise<Socket> {
  const socket = createSocket('udp4');
  sockets.push(socket);
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return socket;
}

/** A UDP port free a moment ago (each beacon must name the other's before either starts). */
async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

describe('pilot-rendezvous --beacon-peers', () => {
  it('relays from a node of one instance to a node of the other', async () => {
    const [portA, portB] = [await freeUdpPort(), await freeUdpPort()];
    const instance = (own: number, peer: number, name: string) =>
      startProgram(
        [
          '--registry-addr',
          '127.0.0.1:0',
          '--beacon-addr',
          `127.0.0.1:${own}`,
          '--beacon-peers',
          `127.0.0.1:${peer}`,
          '--beacon-sync-ms',
          '200',
          '--tls=false',
          '--store',
          join(dir, `${name}.db`),
        ],
        children,
      );
    await instance(portA, portB, 'a');
    await instance(portB, portA, 'b');
    const one = new BeaconClient(await udp(), { node: 1001, beacon: { address: '127.0.0.1', port: portA } });
    const two = new BeaconClient(await udp(), { node: 1002, beacon: { address: '127.0.0.1', port: portB } });
    clients.push(one, two);
    await one.discover({ rto: 200, retries: 6 });
    await two.discover({ rto: 200, retries: 6 });
    const delivered = new Promise<{ source: number; text: string }>((resolve) =>
      two.onRelayDeliver((source, frame) => resolve({ source, text: Buffer.from(frame).toString() })),
    );
    // Until A has heard B's node table (every 200 ms), the relay is dropped: send until it lands.
    let landed = false;
    void delivered.then(() => {
      landed = true;
    });
    const deadline = Date.now() + 15_000;
    while (!landed && Date.now() < deadline) {
      one.relay(1002, Buffer.from('across beacons'));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await delivered).toEqual({ source: 1001, text: 'across beacons' });
  }, 60_000);

  it('--beacon-sync-keys: keyed peers still relay across; a sync from a peer address without the key is refused', async () => {
    const [portA, portB] = [await freeUdpPort(), await freeUdpPort()];
    // A third peer address of A's is held by the attacker: what a spoofed peer source looks like.
    const attacker = await udp();
    const keys = join(dir, 'sync-keys');
    writeFileSync(keys, `# the cluster's shared key\n* ${randomBytes(32).toString('hex')}\n`);
    const instance = (own: number, peers: string, name: string) =>
      startProgram(
        [
          '--registry-addr',
          '127.0.0.1:0',
          '--beacon-addr',
          `127.0.0.1:${own}`,
          '--beacon-peers',
          peers,
          '--beacon-sync-keys',
          keys,
          '--beacon-sync-ms',
          '200',
          '--http',
          '127.0.0.1:0',
          '--tls=false',
          '--store',
          join(dir, `${name}-keyed.db`),
        ],
        children,
      );
    const a = await instance(portA, `127.0.0.1:${portB},127.0.0.1:${attacker.address().port}`, 'a');
    await instance(portB, `127.0.0.1:${portA}`, 'b');
    const one = new BeaconClient(await udp(), { node: 1001, beacon: { address: '127.0.0.1', port: portA } });
    const two = new BeaconClient(await udp(), { node: 1002, beacon: { address: '127.0.0.1', port: portB } });
    clients.push(one, two);
    await one.discover({ rto: 200, retries: 6 });
    await two.discover({ rto: 200, retries: 6 });
    let delivered = 0;
    two.onRelayDeliver(() => {
      delivered++;
    });
    const deadline = Date.now() + 15_000;
    while (delivered === 0 && Date.now() < deadline) {
      one.relay(1002, Buffer.from('across beacons'));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(delivered).toBeGreaterThan(0);
    // The attacker claims node 1002 from its peer address, with no key: refused, and counted.
    const stolen: Buffer[] = [];
    attacker.on('message', (message) => {
      if (message[0] === 0x05) stolen.push(message);
    });
    const sync = encodeBeaconMessage({ type: 'sync', beaconId: 7, nodes: [1002] });
    const before = delivered;
    for (let i = 0; i < 10; i++) {
      attacker.send(sync, portA, '127.0.0.1');
      await new Promise((resolve) => setTimeout(resolve, 20));
      one.relay(1002, Buffer.from('still across'));
    }
    const health = async () => {
      const response = await fetch(`http://${String(a.announce.http)}/healthz`);
      return (await response.json()) as { beacon: { stats: Record<string, number> } };
    };
    let stats = (await health()).beacon.stats;
    while ((stats.droppedBadSync ?? 0) < 10 && Date.now() < deadline + 10_000)
      stats = (await health()).beacon.stats;
    expect(stats.droppedBadSync).toBe(10);
    expect(stats.syncUnauthenticated).toBe(0);
    expect(stats.syncReceived).toBeGreaterThan(0);
    expect(stolen).toHaveLength(0);
    expect(delivered - before).toBeGreaterThan(5);
  }, 60_000);
});
