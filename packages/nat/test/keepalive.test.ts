// BeaconClient keepalives: a periodic discover that keeps the NAT mapping and the beacon's record
// fresh, and reports when the mapping changes.
import type { Socket } from 'node:dgram';
import { encodeBeaconMessage, isPilotError } from '@pilot/wire';
import { afterEach, describe, expect, it } from 'vitest';
import { Beacon, BeaconClient, KEEPALIVE_INTERVAL_MS, toIpEndpoint, type UdpAddress } from '../src/index.js';
import { addressOf, closeAll, udp, until } from './helpers.js';

let sockets: Socket[] = [];
let clients: BeaconClient[] = [];
let beacons: Beacon[] = [];

afterEach(async () => {
  for (const client of clients) client.close();
  await closeAll(sockets);
  await Promise.all(beacons.map((beacon) => beacon.close()));
  sockets = [];
  clients = [];
  beacons = [];
});

async function socket(): Promise<Socket> {
  const s = await udp();
  sockets.push(s);
  return s;
}

/** A beacon stand-in that answers discover with whatever endpoint `reply()` says, or not at all. */
async function scriptedBeacon(reply: () => UdpAddress | undefined): Promise<UdpAddress> {
  const server = await socket();
  server.on('message', (message, from) => {
    if (message[0] !== 0x01) return;
    const endpoint = reply();
    if (endpoint === undefined) return;
    server.send(
      encodeBeaconMessage({ type: 'discoverReply', endpoint: toIpEndpoint(endpoint) }),
      from.port,
      from.address,
    );
  });
  return addressOf(server);
}

describe('BeaconClient keepalive', () => {
  it('defaults to 15 s and refuses periods that would let a 30 s NAT mapping expire', async () => {
    expect(KEEPALIVE_INTERVAL_MS).toBe(15_000);
    const beacon = await Beacon.start({ host: '127.0.0.1', port: 0 });
    beacons.push(beacon);
    const client = new BeaconClient(await socket(), {
      node: 7,
      beacon: { address: '127.0.0.1', port: beacon.address().port },
    });
    clients.push(client);
    for (const intervalMs of [30_000, 60_000, 50, Number.NaN]) {
      let code: string | undefined;
      try {
        client.startKeepalive({ intervalMs });
      } catch (error) {
        code = isPilotError(error) ? error.code : String(error);
      }
      expect(code).toBe('NAT_OUT_OF_RANGE');
    }
  });

  it('sends a discover every interval: the beacon keeps seeing the node, the endpoint is reported', async () => {
    const beacon = await Beacon.start({ host: '127.0.0.1', port: 0 });
    beacons.push(beacon);
    const s = await socket();
    const client = new BeaconClient(s, {
      node: 7,
      beacon: { address: '127.0.0.1', port: beacon.address().port },
    });
    clients.push(client);
    const seen: Array<{ endpoint: UdpAddress; changed: boolean }> = [];
    client.startKeepalive({
      intervalMs: 100,
      onEndpoint: (endpoint, changed) => seen.push({ endpoint, changed }),
    });
    await until(() => seen.length >= 3, 10_000);
    expect(beacon.stats().discover).toBeGreaterThanOrEqual(3);
    expect(beacon.lookup(7)).toEqual(addressOf(s));
    expect(seen.every((entry) => !entry.changed && entry.endpoint.port === addressOf(s).port)).toBe(true);
    expect(client.stats.keepalives).toBeGreaterThanOrEqual(3);
  });

  it('reports a changed mapping, counts unanswered keepalives, and stops on close()', async () => {
    let answer: UdpAddress | undefined = { address: '198.51.100.7', port: 40_000 };
    const beacon = await scriptedBeacon(() => answer);
    const client = new BeaconClient(await socket(), { node: 9, beacon });
    clients.push(client);
    const seen: Array<{ endpoint: UdpAddress; changed: boolean }> = [];
    const errors: unknown[] = [];
    client.startKeepalive({
      intervalMs: 100,
      retransmit: { rto: 50, retries: 1, timeout: 300 },
      onEndpoint: (endpoint, changed) => seen.push({ endpoint, changed }),
      onError: (error) => errors.push(error),
    });
    await until(() => seen.length >= 2, 10_000);
    expect(seen[0]?.changed).toBe(false);
    expect(seen[1]?.changed).toBe(false);
    answer = { address: '198.51.100.7', port: 40_790 };
    await until(() => seen.some((entry) => entry.changed), 10_000);
    expect(seen.find((entry) => entry.changed)?.endpoint).toEqual({ address: '198.51.100.7', port: 40_790 });
    answer = undefined;
    await until(() => errors.length >= 1, 10_000);
    expect(isPilotError(errors[0]) ? errors[0].code : errors[0]).toBe('NAT_TIMEOUT');
    expect(client.stats.keepaliveTimeouts).toBeGreaterThanOrEqual(1);
    // close() stops the timer and aborts a keepalive in flight (the leak check sees any left over).
    client.close();
    const count = seen.length + errors.length;
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect(seen.length + errors.length).toBe(count);
  });

  it('the stop function stops one keepalive', async () => {
    let answers = 0;
    const beacon = await scriptedBeacon(() => {
      answers++;
      return { address: '127.0.0.1', port: 1 };
    });
    const client = new BeaconClient(await socket(), { node: 9, beacon });
    clients.push(client);
    const stop = client.startKeepalive({ intervalMs: 100 });
    await until(() => answers >= 1, 10_000);
    stop();
    const after = answers;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(answers).toBe(after);
  });
});
