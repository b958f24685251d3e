// Path MTU discovery over real UDP sockets on loopback (the NAT-lab cases, with a smaller MTU set
// by `ip link set mtu`, are in natlab.int.test.ts).
import { once } from 'node:events';
import { seededRandom } from '@pilot/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { type PilotStream, SealedCodec, UdpTransport } from '../src/node/index.js';
import { readAll, sha, writeAll } from './streams.js';

const A = { network: 0, node: 0xa1 };
const B = { network: 0, node: 0xb2 };
const KEY = seededRandom(7).bytes(32);
const MiB = 1024 * 1024;

let open: UdpTransport[] = [];
afterEach(async () => {
  await Promise.all(open.map((t) => t.close()));
  open = [];
});

async function pair(): Promise<[UdpTransport, UdpTransport]> {
  const a = await UdpTransport.create({
    localAddress: A,
    codec: new SealedCodec({ key: KEY, localNode: A.node }),
  });
  const b = await UdpTransport.create({
    localAddress: B,
    codec: new SealedCodec({ key: KEY, localNode: B.node }),
  });
  a.addPeer(B, b.udpAddress);
  b.addPeer(A, a.udpAddress);
  open.push(a, b);
  return [a, b];
}

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('path MTU discovery over loopback sockets', () => {
  it('both ends reach the 16 KiB ceiling and move 16 MiB each way in large segments, byte-exact', async () => {
    const [a, b] = await pair();
    a.probePathMtu(B, 16_384);
    b.probePathMtu(A, 16_384);
    await until(() => a.endpoint.pathMtu(B) === 16_384 && b.endpoint.pathMtu(A) === 16_384);
    b.listen(1000);
    const accepted = once(b, 'connection') as Promise<[PilotStream]>;
    const client = await a.connect(B, 1000);
    const [server] = await accepted;
    const up = seededRandom(2).bytes(16 * MiB);
    const down = seededRandom(3).bytes(16 * MiB);
    const packetsBefore = b.endpoint.counters.packetsReceived;
    const [atServer, atClient] = await Promise.all([
      readAll(server),
      readAll(client),
      writeAll(client, up),
      writeAll(server, down),
    ]);
    expect(sha(atServer)).toBe(sha(up));
    expect(sha(atClient)).toBe(sha(down));
    // 16 MiB in 16 KiB segments is ~1,030 packets (and ACKs the other way), not ~15,000.
    expect(b.endpoint.counters.packetsReceived - packetsBefore).toBeLessThan(6000);
    expect(a.endpoint.pathMtuInfo(B)?.state).toBe('complete');
  }, 60_000);

  it('a peer that was never asked to probe keeps 1200-byte datagrams', async () => {
    const [a, b] = await pair();
    a.probePathMtu(B, 16_384);
    await until(() => a.endpoint.pathMtu(B) === 16_384);
    expect(b.endpoint.pathMtu(A)).toBe(1200);
    expect(b.endpoint.counters.pathProbesSent).toBe(0);
  });
});
