import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:dgram';
import { encodeBeaconMessage, isPilotError } from '@pilot/wire';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Beacon,
  BeaconClient,
  type BeaconOptions,
  checkSyncAuth,
  decodeBeaconRequest,
  decodeSyncAuth,
  encodeSyncAuth,
  newSyncInstance,
  PUNCH_FRAME,
  SYNC_AUTH_SIZE,
  SYNC_SEQUENCE_PER_MS,
  SyncSequence,
  type UdpAddress,
} from '../src/index.js';
import { addressOf, closeAll, collect, send, sleep, udp, until } from './helpers.js';

const local = (beacon: Beacon): UdpAddress => ({ address: '127.0.0.1', port: beacon.address().port });

let beacons: Beacon[] = [];
let sockets: Socket[] = [];
let clients: BeaconClient[] = [];

async function startBeacon(options: BeaconOptions): Promise<Beacon> {
  const beacon = await Beacon.start({ host: '127.0.0.1', ...options });
  beacons.push(beacon);
  return beacon;
}

async function socket(): Promise<Socket> {
  const s = await udp();
  sockets.push(s);
  return s;
}

async function client(beacon: Beacon, node: number): Promise<{ s: Socket; c: BeaconClient }> {
  const s = await socket();
  const c = new BeaconClient(s, { node, beacon: local(beacon) });
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

function signedSync(
  key: Uint8Array,
  nodes: number[],
  sequence: bigint,
  instance = newSyncInstance(),
): Uint8Array {
  const message = encodeBeaconMessage({ type: 'sync', beaconId: 3, nodes });
  const out = new Uint8Array(message.length + SYNC_AUTH_SIZE);
  out.set(message);
  out.set(encodeSyncAuth(key, message, instance, sequence), message.length);
  return out;
}

describe('sync authentication (codec)', () => {
  it('round-trips; a changed byte, another key or another message fails the tag', () => {
    const key = randomBytes(32);
    const bytes = signedSync(key, [1, 2, 3], 77n);
    const request = decodeBeaconRequest(bytes);
    expect(request.message).toEqual({ type: 'sync', beaconId: 3, nodes: [1, 2, 3] });
    const { auth, signed } = request.syncAuth ?? expect.fail('no tail');
    expect(auth.sequence).toBe(77n);
    expect(checkSyncAuth(key, signed, auth)).toBe(true);
    expect(checkSyncAuth(randomBytes(32), signed, auth)).toBe(false);
    for (let i = 0; i < bytes.length; i++) {
      const changed = bytes.slice();
      changed[i] = (changed[i] ?? 0) ^ 1;
      let ok = false;
      try {
        const again = decodeBeaconRequest(changed);
        ok = again.syncAuth !== undefined && checkSyncAuth(key, again.syncAuth.signed, again.syncAuth.auth);
      } catch (error) {
        expect(isPilotError(error)).toBe(true);
      }
      expect(ok, `byte ${i}`).toBe(false);
    }
  });

  it('any bytes after a sync decode to a tail or a PilotError, never anything else', () => {
    const message = encodeBeaconMessage({ type: 'sync', beaconId: 1, nodes: [9] });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (tail) => {
        const bytes = new Uint8Array(message.length + tail.length);
        bytes.set(message);
        bytes.set(tail, message.length);
        try {
          const request = decodeBeaconRequest(bytes);
          expect(tail.length === 0 || request.syncAuth !== undefined).toBe(true);
        } catch (error) {
          expect(isPilotError(error)).toBe(true);
        }
        expect(decodeSyncAuth(tail)?.tag.length ?? 32).toBe(32);
      }),
    );
  });

  it('sequences grow strictly and follow the clock', () => {
    const sequence = new SyncSequence();
    const a = sequence.next(1000);
    const b = sequence.next(1000);
    const c = sequence.next(999);
    const d = sequence.next(2000);
    expect([a, b, c, d]).toEqual([1000n * 1024n, 1000n * 1024n + 1n, 1000n * 1024n + 2n, 2000n * 1024n]);
  });
});

describe('sync authentication (beacons)', () => {
  // Beacon A has two peers: B (real) and C. C's address is held by the attacker's socket: that is
  // what a spoofed source looks like to A (UDP source addresses are not authenticated). Node 2
  // lives behind B; the attacker claims it lives behind C, to get node 1's relayed frames to node 2.
  async function lab(keyed: boolean) {
    const keyB = randomBytes(32);
    const keyC = randomBytes(32);
    const reserve = await Promise.all([udp(), udp()]);
    const [portA, portB] = reserve.map((r) => r.address().port) as [number, number];
    await closeAll(reserve);
    const attacker = await socket();
    const addrA = { address: '127.0.0.1', port: portA };
    const addrB = { address: '127.0.0.1', port: portB };
    const addrC = addressOf(attacker);
    const a = await startBeacon({
      port: portA,
      beaconId: 1,
      syncIntervalMs: 50,
      peers: keyed
        ? [
            { ...addrB, key: keyB },
            { ...addrC, key: keyC },
          ]
        : [addrB, addrC],
    });
    const b = await startBeacon({
      port: portB,
      beaconId: 2,
      syncIntervalMs: 50,
      peers: keyed ? [{ ...addrA, key: keyB }] : [addrA],
    });
    const one = await client(a, 1);
    const two = await client(b, 2);
    await one.c.discover();
    await two.c.discover();
    await until(() => a.stats().syncReceived > 0);
    const delivered: number[] = [];
    two.c.onRelayDeliver((source) => delivered.push(source));
    one.c.relay(2, PUNCH_FRAME);
    await until(() => delivered.length === 1);
    return { a, b, one, two, attacker, addrA, keyB, keyC, delivered };
  }

  it('a spoofed sync from a peer address does not take over a node that lives behind another peer', async () => {
    const { a, one, attacker, addrA, delivered } = await lab(true);
    const stolen = collect(attacker);
    // A bare reference sync, and one with a forged tail, from C's address, claiming node 2.
    const bare = encodeBeaconMessage({ type: 'sync', beaconId: 3, nodes: [2] });
    const forged = signedSync(randomBytes(32), [2], BigInt(Date.now()) * BigInt(SYNC_SEQUENCE_PER_MS));
    // The attacker keeps claiming node 2 (B re-syncs every 50 ms), node 1 keeps relaying to it.
    const relayed = () => stolen.filter((d) => d.bytes[0] === 0x05).length;
    for (let i = 0; i < 20; i++) {
      await send(attacker, bare, addrA);
      await send(attacker, forged, addrA);
      await sleep(5);
      one.c.relay(2, PUNCH_FRAME);
    }
    await until(() => delivered.length + relayed() >= 21);
    await sleep(50);
    expect(relayed()).toBe(0);
    expect(delivered).toHaveLength(21);
    // Each of the 40 refused (a few may fall to the per-source rate first: on loopback B, the attacker and node 1 share one IP).
    await until(() => a.stats().droppedBadSync + a.stats().droppedRateLimited >= 40);
    expect(a.stats().droppedBadSync).toBeGreaterThan(30);
  });

  it('a captured sync is refused when replayed, when stale, and when reflected back to its sender', async () => {
    const { a, one, attacker, addrA, keyC, delivered } = await lab(true);
    const stolen = collect(attacker);
    // Valid for C's key, so accepted once (the test plays C here, to have something to replay).
    const now = BigInt(Date.now()) * BigInt(SYNC_SEQUENCE_PER_MS);
    const fresh = signedSync(keyC, [77], now + 5n);
    await send(attacker, fresh, addrA);
    await until(() => a.lookupRemote(77) !== undefined);
    expect(a.stats().droppedBadSync).toBe(0);
    // Replayed; stale (5 minutes old) yet never seen; and A's own sync to C, sent back to A from C.
    await send(attacker, fresh, addrA);
    await send(attacker, signedSync(keyC, [2], now - 300_000n * BigInt(SYNC_SEQUENCE_PER_MS)), addrA);
    await until(() => stolen.some((d) => d.bytes[0] === 0x07));
    const own = stolen.find((d) => d.bytes[0] === 0x07)?.bytes ?? expect.fail('no sync from A');
    expect(own.length).toBeGreaterThan(SYNC_AUTH_SIZE);
    await send(attacker, own, addrA);
    await until(() => a.stats().droppedBadSync === 3);
    one.c.relay(2, PUNCH_FRAME);
    await until(() => delivered.length === 2);
    expect(stolen.filter((d) => d.bytes[0] === 0x05)).toHaveLength(0);
  });

  it('peers without keys (reference beacons) are still served by source address, and counted', async () => {
    const { a, b } = await lab(false);
    expect(a.stats().syncUnauthenticated).toBeGreaterThan(0);
    expect(b.stats().syncUnauthenticated).toBeGreaterThan(0);
    expect(a.stats().droppedBadSync).toBe(0);
  });

  it('refuses keys shorter than 16 bytes', async () => {
    await expect(
      Beacon.start({
        host: '127.0.0.1',
        port: 0,
        peers: [{ address: '127.0.0.1', port: 9, key: new Uint8Array(8) }],
      }),
    ).rejects.toThrow(RangeError);
  });
});
