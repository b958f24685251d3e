import type { Socket } from 'node:dgram';
import { hostileBasics, hostileVariants } from '@pilot/testkit';
import { decodeBeaconMessage, encodeBeaconMessage, TunnelMagic } from '@pilot/wire';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Beacon,
  BeaconClient,
  type BeaconOptions,
  type BeaconStats,
  classifyNat,
  encodeBindingRequest,
  PUNCH_FRAME,
  punch,
  stunBinding,
  type UdpAddress,
} from '../src/index.js';
import { addressOf, closeAll, collect, send, sleep, udp, until } from './helpers.js';

const local = (beacon: Beacon): UdpAddress => ({ address: '127.0.0.1', port: beacon.address().port });

let beacons: Beacon[] = [];
let sockets: Socket[] = [];
let clients: BeaconClient[] = [];

async function startBeacon(options: BeaconOptions = {}): Promise<Beacon> {
  const beacon = await Beacon.start({ host: '127.0.0.1', port: 0, ...options });
  beacons.push(beacon);
  return beacon;
}

async function socket(): Promise<Socket> {
  const s = await udp();
  sockets.push(s);
  return s;
}

async function client(beacon: Beacon, node: number, pad = true): Promise<{ s: Socket; c: BeaconClient }> {
  const s = await socket();
  const c = new BeaconClient(s, { node, beacon: local(beacon), pad });
  clients.push(c);
  return { s, c };
}

function handledTotal(stats: BeaconStats): number {
  // Every datagram ends in one of these.
  return (
    stats.discover +
    stats.punchRequests +
    stats.relayDelivered +
    stats.relayForwarded +
    stats.syncReceived +
    stats.stunRequests +
    stats.droppedGarbage +
    stats.droppedSpoofed +
    stats.droppedUnknownPeer +
    stats.droppedBadSync +
    stats.droppedRateLimited +
    stats.droppedRelayLimited +
    stats.droppedStunUnsupported +
    stats.droppedUnknownNode
  );
}

afterEach(async () => {
  for (const c of clients) c.close();
  await closeAll(sockets);
  await Promise.all(beacons.map((b) => b.close()));
  beacons = [];
  sockets = [];
  clients = [];
});

describe('beacon on loopback', () => {
  it('answers discover with the observed source and records the node', async () => {
    const beacon = await startBeacon();
    const { s, c } = await client(beacon, 7);
    const seen = await c.discover({ rto: 100, retries: 3 });
    expect(seen).toEqual(addressOf(s));
    expect(beacon.lookup(7)).toEqual(addressOf(s));
    expect(beacon.stats().discoverReplies).toBe(1);
  });

  it('strict: a 5-byte reference discover is recorded but not answered (8 > 5); compatible answers it', async () => {
    const strict = await startBeacon();
    const { c } = await client(strict, 8, false);
    await expect(c.discover({ rto: 50, retries: 1, timeout: 300 })).rejects.toMatchObject({
      code: 'NAT_TIMEOUT',
    });
    expect(strict.lookup(8)).toBeDefined();
    expect(strict.stats().droppedAmplification).toBe(2);
    const compatible = await startBeacon({ amplification: 'compatible' });
    const other = await client(compatible, 9, false);
    expect(await other.c.discover({ rto: 100, retries: 2 })).toEqual(addressOf(other.s));
  });

  it("punch request: both sides get the other one's endpoint at once, and punch() connects them", async () => {
    const beacon = await startBeacon();
    const a = await client(beacon, 1);
    const b = await client(beacon, 2);
    await a.c.discover();
    await b.c.discover();
    const commandA = a.c.nextPunchCommand(1000);
    const commandB = b.c.nextPunchCommand(1000);
    a.c.requestPunch(2);
    expect(await commandA).toEqual(addressOf(b.s));
    expect(await commandB).toEqual(addressOf(a.s));
    const [toB, toA] = await Promise.all([
      punch(a.s, await commandA, { timeoutMs: 2000 }),
      punch(b.s, await commandB, { timeoutMs: 2000 }),
    ]);
    expect(toB.address).toEqual(addressOf(b.s));
    expect(toA.address).toEqual(addressOf(a.s));
    expect(beacon.stats().punchCommands).toBe(2);
  });

  it("a reference-sized (9-byte) punch request only makes the target's command under strict", async () => {
    const beacon = await startBeacon();
    const a = await client(beacon, 1, false);
    const b = await client(beacon, 2);
    await b.c.discover();
    const gotA = collect(a.s);
    const commandB = b.c.nextPunchCommand(1000);
    a.c.requestPunch(2);
    expect(await commandB).toEqual(addressOf(a.s));
    await sleep(100);
    expect(gotA).toHaveLength(0);
    expect(beacon.stats().droppedAmplification).toBe(1);
  });

  it('drops punch requests for unknown nodes', async () => {
    const beacon = await startBeacon();
    const a = await client(beacon, 1);
    await a.c.discover();
    const got = collect(a.s);
    a.c.requestPunch(99);
    await until(() => beacon.stats().droppedUnknownNode === 1);
    await sleep(50);
    expect(got).toHaveLength(0);
  });

  it('relays frames to local nodes, drops unknown destinations and spoofed sources', async () => {
    const beacon = await startBeacon();
    const a = await client(beacon, 1);
    const b = await client(beacon, 2);
    await a.c.discover();
    await b.c.discover();
    const delivered: Array<[number, number[]]> = [];
    b.c.onRelayDeliver((source, frame) => delivered.push([source, [...frame]]));
    a.c.relay(2, PUNCH_FRAME);
    await until(() => delivered.length === 1);
    expect(delivered[0]).toEqual([1, [...PUNCH_FRAME]]);
    a.c.relay(3, PUNCH_FRAME);
    // A third socket claiming to be node 1.
    const mallory = await socket();
    await send(
      mallory,
      encodeBeaconMessage({ type: 'relay', source: 1, destination: 2, frame: PUNCH_FRAME }),
      local(beacon),
    );
    await until(() => beacon.stats().droppedSpoofed === 1 && beacon.stats().droppedUnknownNode === 1);
    expect(delivered).toHaveLength(1);
  });

  it('limits relay per node', async () => {
    // A frozen clock: no refill while the test runs, however slow the machine.
    const beacon = await startBeacon({ relayPacketRate: { perSecond: 1, burst: 5 }, now: () => 1_000_000 });
    const a = await client(beacon, 1);
    const b = await client(beacon, 2);
    await a.c.discover();
    await b.c.discover();
    let delivered = 0;
    b.c.onRelayDeliver(() => delivered++);
    for (let i = 0; i < 20; i++) a.c.relay(2, PUNCH_FRAME);
    await until(() => beacon.stats().droppedRelayLimited + beacon.stats().relayDelivered === 20);
    expect(beacon.stats().relayDelivered).toBe(5);
    await until(() => delivered === 5);
  });

  it('limits relayed bytes per sending node, independently of other nodes, and refills over time', async () => {
    let now = 1_000_000;
    const beacon = await startBeacon({
      relayByteRate: { perSecond: 500, burst: 1000 },
      relayPacketRate: { perSecond: 1000, burst: 1000 },
      now: () => now,
    });
    const a = await client(beacon, 1);
    const b = await client(beacon, 2);
    const c = await client(beacon, 3);
    await a.c.discover();
    await b.c.discover();
    await c.c.discover();
    const frame = new Uint8Array(200).fill(0x50);
    const size = encodeBeaconMessage({ type: 'relay', source: 1, destination: 2, frame }).length;
    const perBurst = Math.floor(1000 / size);
    const from = new Map<number, number>();
    b.c.onRelayDeliver((source) => from.set(source, (from.get(source) ?? 0) + 1));
    for (let i = 0; i < 10; i++) a.c.relay(2, frame);
    await until(() => beacon.stats().droppedRelayLimited + beacon.stats().relayDelivered === 10);
    expect(beacon.stats().relayDelivered).toBe(perBurst);
    expect(beacon.stats().droppedRelayLimited).toBe(10 - perBurst);
    // Node 3 has its own budget.
    for (let i = 0; i < 2; i++) c.c.relay(2, frame);
    await until(() => beacon.stats().relayDelivered === perBurst + 2);
    // One second later node 1 has 500 more bytes (on top of what the burst left).
    now += 1000;
    const refilled = Math.floor((1000 - perBurst * size + 500) / size);
    for (let i = 0; i < 5; i++) a.c.relay(2, frame);
    await until(() => beacon.stats().droppedRelayLimited + beacon.stats().relayDelivered === 17);
    expect(beacon.stats().relayDelivered).toBe(perBurst + 2 + refilled);
    await until(() => from.get(1) === perBurst + refilled && from.get(3) === 2);
  });

  it('forwards relay to the beacon a node was synced from, and ignores sync from strangers', async () => {
    const reserve = await Promise.all([udp(), udp()]);
    const [portOne, portTwo] = reserve.map((r) => r.address().port) as [number, number];
    await closeAll(reserve);
    const one = { address: '127.0.0.1', port: portOne };
    const two = { address: '127.0.0.1', port: portTwo };
    const first = await startBeacon({ port: portOne, peers: [two], syncIntervalMs: 50, beaconId: 1 });
    const peerOfTwo = await startBeacon({ port: portTwo, peers: [one], syncIntervalMs: 50, beaconId: 2 });
    const a = await client(first, 1);
    const b = await client(peerOfTwo, 2);
    await a.c.discover();
    await b.c.discover();
    await until(() => first.stats().syncReceived > 0 && peerOfTwo.stats().syncReceived > 0);
    const delivered: number[] = [];
    b.c.onRelayDeliver((source) => delivered.push(source));
    a.c.relay(2, PUNCH_FRAME);
    await until(() => delivered.length === 1);
    expect(first.stats().relayForwarded).toBe(1);
    const stranger = await socket();
    await send(stranger, encodeBeaconMessage({ type: 'sync', beaconId: 9, nodes: [5] }), local(first));
    await until(() => first.stats().droppedUnknownPeer === 1);
  });

  it('answers STUN Binding on the same socket; bare requests only in compatible mode', async () => {
    const beacon = await startBeacon();
    const s = await socket();
    const result = await stunBinding(s, local(beacon), { rto: 100, retries: 2 });
    expect(result.reflexive).toEqual(addressOf(s));
    await expect(
      stunBinding(s, local(beacon), { rto: 50, retries: 1, timeout: 300, padTo: 0 }),
    ).rejects.toMatchObject({
      code: 'NAT_TIMEOUT',
    });
    expect(beacon.stats().droppedAmplification).toBe(2);
    const compatible = await startBeacon({ amplification: 'compatible' });
    const bare = await stunBinding(s, local(compatible), {
      rto: 100,
      retries: 2,
      padTo: 0,
      fingerprint: false,
    });
    expect(bare.reflexive).toEqual(addressOf(s));
  });

  it('never sends more bytes than it received, per datagram, in strict mode', async () => {
    const beacon = await startBeacon();
    const a = await client(beacon, 1, false);
    const b = await client(beacon, 2, false);
    const gotA = collect(a.s);
    const gotB = collect(b.s);
    const sent: number[] = [];
    const requests = [
      encodeBeaconMessage({ type: 'discover', node: 1 }),
      encodeBindingRequest(new Uint8Array(12), { padTo: 0 }),
      encodeBindingRequest(new Uint8Array(12).fill(1)),
      encodeBeaconMessage({ type: 'punchRequest', requester: 1, target: 2 }),
    ];
    await b.c.discover({ rto: 50, retries: 0, timeout: 100 }).catch(() => {});
    for (const request of requests) {
      const before = gotA.length + gotB.length;
      const bytesBefore = [...gotA, ...gotB].reduce((n, d) => n + d.bytes.length, 0);
      await send(a.s, request, local(beacon));
      await sleep(60);
      const bytesAfter = [...gotA, ...gotB].reduce((n, d) => n + d.bytes.length, 0);
      sent.push(bytesAfter - bytesBefore);
      expect(bytesAfter - bytesBefore).toBeLessThanOrEqual(request.length);
      expect(gotA.length + gotB.length).toBeGreaterThanOrEqual(before);
    }
    expect(sent[2]).toBeGreaterThan(0);
    expect(sent[3]).toBe(8);
  });

  it('drops and counts garbage and floods, and keeps serving', async () => {
    const beacon = await startBeacon({ sourceRate: { perSecond: 1, burst: 1000 } });
    const s = await socket();
    const valid = encodeBeaconMessage({
      type: 'relay',
      source: 1,
      destination: 2,
      frame: Uint8Array.of(0x50, 0x49, 0x4c, 0x50),
    });
    const inputs = [...hostileBasics(), ...hostileVariants(valid)].filter(
      (input) => input.bytes.length > 0 && input.bytes.length < 60_000,
    );
    for (const input of inputs) await send(s, input.bytes, local(beacon));
    await until(() => beacon.stats().received === inputs.length);
    const stats = beacon.stats();
    expect(handledTotal(stats)).toBe(stats.received);
    // A flood from one source is cut by the per-source rate.
    const flooder = await beaconFlood(await startBeacon(), 200);
    expect(flooder.droppedRateLimited).toBeGreaterThan(0);
    const { c } = await client(beacon, 3);
    await expect(c.discover()).resolves.toBeDefined();
    expect(flooder.droppedRateLimited).toBeLessThan(200);
  });

  it('classifies loopback as easy and public, through beacons or STUN on the beacon socket', async () => {
    const one = await startBeacon();
    const two = await startBeacon();
    const s = await socket();
    const viaBeacon = await classifyNat(s, [
      { protocol: 'beacon', ...local(one) },
      { protocol: 'beacon', ...local(two) },
    ]);
    expect(viaBeacon.mapping).toBe('easy');
    expect(viaBeacon.public).toBe(true);
    const viaStun = await classifyNat(s, [
      { protocol: 'stun', ...local(one) },
      { protocol: 'beacon', ...local(two) },
    ]);
    expect(viaStun.endpoints[0]).toEqual(addressOf(s));
    // Discover of node 0 registers nothing.
    expect(one.nodeCount + two.nodeCount).toBe(0);
  });

  it('client side: discover replies and commands from anyone but the beacon are ignored and counted', async () => {
    const beacon = await startBeacon();
    const { s, c } = await client(beacon, 4);
    const mallory = await socket();
    const fake = encodeBeaconMessage({
      type: 'discoverReply',
      endpoint: { ip: Uint8Array.of(6, 6, 6, 6), port: 6 },
    });
    const pending = c.discover({ rto: 200, retries: 2 });
    await send(mallory, fake, addressOf(s));
    expect(await pending).toEqual(addressOf(s));
    await until(() => c.stats.spoofed >= 1);
    expect(decodeBeaconMessage(fake).type).toBe('discoverReply');
    expect(TunnelMagic.PUNCH).toBe(0x50494c50);
  });
});

async function beaconFlood(beacon: Beacon, count: number): Promise<BeaconStats> {
  const s = await udp();
  const discover = encodeBeaconMessage({ type: 'discover', node: 0 });
  const padded = new Uint8Array(20);
  padded.set(discover);
  const before = beacon.stats().received;
  for (let i = 0; i < count; i++) s.send(padded, beacon.address().port, '127.0.0.1');
  await until(() => beacon.stats().received - before === count);
  await closeAll([s]);
  return beacon.stats();
}
