// `--beacon a,b`: the first beacon does not answer, the daemon moves to the next and is known there.
import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Daemon } from '../src/index.js';
import { eventually, startNode, TestRendezvous, tempDir } from './helpers.js';

const dir = tempDir('pilot-daemon-beacon-failover-');
let rdv: TestRendezvous;
const daemons: Daemon[] = [];

beforeAll(async () => {
  rdv = await TestRendezvous.start(dir.path);
});
afterAll(async () => {
  await Promise.all(daemons.map((daemon) => daemon.close()));
  await rdv.close();
  dir.cleanup();
});

async function deadUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

describe('beacon failover', () => {
  it('moves to the next beacon of --beacon a,b when the first does not answer', async () => {
    const dead = await deadUdpPort();
    const before = rdv.beacon.nodeCount;
    // The second beacon by name: resolved once at start (as the reference does), it is reached.
    const daemon = await startNode(rdv, dir.path, 'bf', {
      beacon: `127.0.0.1:${dead},localhost:${rdv.beacon.address().port}`,
    });
    daemons.push(daemon);
    await eventually(() => rdv.beacon.nodeCount > before, 30_000, 'the node at the second beacon');
    const tunnel = daemon.info().tunnel as Record<string, number>;
    expect(tunnel.beacon_failover).toBe(1);
    expect(tunnel.discover_failed).toBeGreaterThanOrEqual(1);
  }, 60_000);
});
