import type { Socket } from 'node:dgram';
import { generateIdentity, type Identity } from '@pilot/crypto';
import { encodeBeaconMessage } from '@pilot/wire';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Beacon,
  BeaconClient,
  type BeaconOptions,
  decodeBeaconRequest,
  decodeDiscoverProof,
  encodeDiscoverProof,
  PROVEN_DISCOVER_SIZE,
  PUNCH_FRAME,
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

async function client(
  beacon: Beacon,
  node: number,
  identity?: Identity,
): Promise<{ s: Socket; c: BeaconClient }> {
  const s = await socket();
  const c = new BeaconClient(s, {
    node,
    beacon: local(beacon),
    ...(identity === undefined ? {} : { identity }),
  });
  clients.push(c);
  return { s, c };
}

afterEach(async () => {
  for (const c of clients) c.close();
  await closeAll(sockets);
  await Promise.all(beacons.map((b) => b.close()));
  beacons = [];
  sockets = [];
  clients = [];
});

const discover = (node: number): Uint8Array => {
  const bytes = new Uint8Array(20);
  bytes.set(encodeBeaconMessage({ type: 'discover', node }));
  return bytes;
};

describe('discover proof (codec)', () => {
  it('round-trips, and anything else after a discover is refused or taken as padding', () => {
    const id = generateIdentity();
    const proof = encodeDiscoverProof(id, 42, 1_700_000_000_123);
    const bytes = new Uint8Array(PROVEN_DISCOVER_SIZE);
    bytes.set(encodeBeaconMessage({ type: 'discover', node: 42 }));
    bytes.set(proof, 5);
    const decoded = decodeBeaconRequest(bytes);
    expect(decoded.message).toEqual({ type: 'discover', node: 42 });
    expect(decoded.proof?.timestampMs).toBe(1_700_000_000_123);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (tail) => {
        // Never throws anything but a PilotError, never a proof of the wrong size.
        const proofOrNot = decodeDiscoverProof(tail);
        if (proofOrNot !== undefined) expect(tail.length).toBe(73);
      }),
    );
  });
});

describe('beacon budgets on loopback', () => {
  it('a spoofed discover does not move a node that proved its identity; the node itself still can', async () => {
    const id = generateIdentity();
    const beacon = await startBeacon({ nodeKey: (node) => (node === 9 ? id.publicKey : undefined) });
    const victim = await client(beacon, 9, id);
    await victim.c.discover({ rto: 100, retries: 3 });
    expect(beacon.lookup(9)).toEqual(addressOf(victim.s));
    expect(beacon.stats().provenDiscovers).toBe(1);

    // The attacker claims node 9 from its own address: unproven, with a zero-padded discover, and
    // with a replay of a proof (the victim's own, captured) and a proof signed by another key.
    const attacker = await socket();
    await send(attacker, discover(9), local(beacon));
    const stolen = new Uint8Array(PROVEN_DISCOVER_SIZE);
    stolen.set(encodeBeaconMessage({ type: 'discover', node: 9 }));
    stolen.set(encodeDiscoverProof(id, 9, Date.now() - 120_000), 5);
    await send(attacker, stolen, local(beacon));
    const forged = new Uint8Array(PROVEN_DISCOVER_SIZE);
    forged.set(encodeBeaconMessage({ type: 'discover', node: 9 }));
    forged.set(encodeDiscoverProof(generateIdentity(), 9, Date.now()), 5);
    await send(attacker, forged, local(beacon));
    await until(() => beacon.stats().discover === 4);
    expect(beacon.lookup(9)).toEqual(addressOf(victim.s));
    expect(beacon.stats().droppedUnproven).toBe(3);
    expect(beacon.stats().droppedBadProof).toBe(2);

    // Relayed frames for node 9 still reach the victim.
    const sender = await client(beacon, 10);
    await sender.c.discover({ rto: 100, retries: 3 });
    const got = collect(victim.s);
    sender.c.relay(9, PUNCH_FRAME);
    await until(() => got.length > 0);

    // The victim's mapping changes: its next proven discover moves it at once.
    const moved = await client(beacon, 9, id);
    await moved.c.discover({ rto: 100, retries: 3 });
    expect(beacon.lookup(9)).toEqual(addressOf(moved.s));
  });

  it('a node that never proved (a reference daemon) moves only after its endpoint fell silent', async () => {
    let now = 1_000_000;
    const beacon = await startBeacon({ now: () => now, unprovenMoveAfterMs: 90_000 });
    const reference = await socket();
    await send(reference, discover(5), local(beacon));
    await until(() => beacon.lookup(5) !== undefined);
    const attacker = await socket();
    await send(attacker, discover(5), local(beacon));
    await until(() => beacon.stats().discover === 2);
    expect(beacon.lookup(5)).toEqual(addressOf(reference));
    // A spoofed punch request naming 5 as requester is not acted on either.
    const target = await client(beacon, 6);
    await target.c.discover({ rto: 100, retries: 3 });
    const toTarget = collect(target.s);
    const request = new Uint8Array(40);
    request.set(encodeBeaconMessage({ type: 'punchRequest', requester: 5, target: 6 }));
    await send(attacker, request, local(beacon));
    await until(() => beacon.stats().droppedUnproven === 2);
    await sleep(50);
    expect(toTarget).toHaveLength(0);
    // 90 s of silence later, the new endpoint is believed (a NAT rebinding).
    now += 91_000;
    await send(attacker, discover(5), local(beacon));
    await until(() => beacon.stats().discover === 4);
    expect(beacon.lookup(5)).toEqual(addressOf(attacker));
  });

  it('punch commands per target are capped whatever the requesters; the beacon never amplifies', async () => {
    const beacon = await startBeacon({
      punchTargetRate: { perSecond: 1, burst: 3 },
      sourceRate: { perSecond: 10_000, burst: 10_000 },
    });
    const target = await client(beacon, 100);
    await target.c.discover({ rto: 100, retries: 3 });
    const commands = collect(target.s);
    const attacker = await socket();
    const received = collect(attacker);
    let sent = 0;
    for (let i = 0; i < 200; i++) {
      // Random requester IDs: each is a fresh claim, so only the per-target budget stops them.
      const request = encodeBeaconMessage({ type: 'punchRequest', requester: 1000 + i, target: 100 });
      sent += request.length;
      await send(attacker, request, local(beacon));
    }
    await until(() => beacon.stats().droppedPunchLimited + beacon.stats().punchRequests === 200);
    await sleep(50);
    expect(beacon.stats().punchRequests).toBeLessThanOrEqual(4);
    expect(commands.length).toBeLessThanOrEqual(4);
    const back = received.reduce((sum, r) => sum + r.bytes.length, 0);
    const out = commands.reduce((sum, r) => sum + r.bytes.length, 0) + back;
    expect(out).toBeLessThanOrEqual(sent);
  });

  it('relayed frames are under per-IP limits, even from a peer beacon address', async () => {
    const peer = await socket();
    const beacon = await startBeacon({
      peers: [addressOf(peer)],
      relaySourcePacketRate: { perSecond: 1, burst: 10 },
    });
    const dest = await client(beacon, 7);
    await dest.c.discover({ rto: 100, retries: 3 });
    const got = collect(dest.s);
    const frame = encodeBeaconMessage({ type: 'relay', source: 55, destination: 7, frame: PUNCH_FRAME });
    for (let i = 0; i < 100; i++) await send(peer, frame, local(beacon));
    await until(() => beacon.stats().relayDelivered + beacon.stats().droppedRelaySourceLimited === 100);
    expect(beacon.stats().relayDelivered).toBeLessThanOrEqual(11);
    await until(() => got.length === beacon.stats().relayDelivered);
  });
});
