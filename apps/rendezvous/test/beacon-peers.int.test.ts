// Two rendezvous instances whose beacons are peers (`--beacon-peers`): a node held by one beacon is
// relayed to from a node held by the other — the relay half of "several instances, one network".
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BeaconClient } from '@pilot/nat';
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
});
