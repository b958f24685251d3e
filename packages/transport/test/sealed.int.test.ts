import { once } from 'node:events';
import { seededRandom } from '@pilot/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { type PilotStream, SealedCodec, UdpTransport } from '../src/node/index.js';
import { readAll, sha, writeAll } from './streams.js';

const A = { network: 0, node: 0xa1 };
const B = { network: 0, node: 0xb2 };
const KEY = seededRandom(1).bytes(32);
const MiB = 1024 * 1024;

let open: UdpTransport[] = [];

async function sealedPair(
  keyB: Uint8Array = KEY,
): Promise<[UdpTransport, UdpTransport, SealedCodec, SealedCodec]> {
  const codecA = new SealedCodec({ key: KEY, localNode: A.node });
  const codecB = new SealedCodec({ key: keyB, localNode: B.node });
  const a = await UdpTransport.create({ localAddress: A, codec: codecA });
  const b = await UdpTransport.create({ localAddress: B, codec: codecB });
  a.addPeer(B, b.udpAddress);
  b.addPeer(A, a.udpAddress);
  open.push(a, b);
  return [a, b, codecA, codecB];
}

afterEach(async () => {
  await Promise.all(open.map((t) => t.close()));
  open = [];
});

describe('UdpTransport with the PILS codec (AES-256-GCM) over loopback', () => {
  it('moves 8 MiB each way at once, byte-exact, every frame sealed', async () => {
    const [a, b, codecA, codecB] = await sealedPair();
    b.listen(1000);
    const accepted = once(b, 'connection') as Promise<[PilotStream]>;
    const client = await a.connect(B, 1000);
    const [server] = await accepted;
    const up = seededRandom(2).bytes(8 * MiB);
    const down = seededRandom(3).bytes(8 * MiB);
    const [atServer, atClient] = await Promise.all([
      readAll(server),
      readAll(client),
      writeAll(client, up),
      writeAll(server, down),
    ]);
    expect(atServer.length).toBe(up.length);
    expect(sha(atServer)).toBe(sha(up));
    expect(sha(atClient)).toBe(sha(down));
    expect(codecB.counters.opened).toBeGreaterThan(up.length / 1200);
    expect(codecA.counters.rejected + codecB.counters.rejected).toBe(0);
  }, 60_000);

  it('carries datagrams sealed too', async () => {
    const [a, b] = await sealedPair();
    const got = once(b, 'datagram') as Promise<[{ payload: Uint8Array; dstPort: number }]>;
    a.sendDatagram(B, 9, Buffer.from('sealed datagram'));
    const [datagram] = await got;
    expect(Buffer.from(datagram.payload).toString()).toBe('sealed datagram');
    expect(datagram.dstPort).toBe(9);
  });

  it('refuses frames under another key, replays, plaintext and forged senders', async () => {
    const [a, b, , codecB] = await sealedPair(seededRandom(99).bytes(32));
    b.listen(1000);
    // Under the wrong key no SYN opens: the dial gets no answer (abandoned when the test closes).
    a.connect(B, 1000).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 100));
    expect(codecB.counters.rejected).toBeGreaterThan(0);
    expect(codecB.counters.opened).toBe(0);
    expect(b.endpoint.counters.packetsReceived).toBe(0);

    const codec = new SealedCodec({ key: KEY, localNode: B.node });
    const sender = new SealedCodec({ key: KEY, localNode: A.node });
    const packet = new Uint8Array(34);
    packet.set([0, 0, 0, 0xa1], 6); // source node A at bytes 6..10
    const from = { address: '127.0.0.1', port: 1 };
    const frame = sender.seal(packet, B);
    expect(codec.open(frame, from)).toEqual(packet);
    expect(codec.open(frame, from)).toBeUndefined(); // replay
    const tampered = Uint8Array.from(sender.seal(packet, B));
    tampered[tampered.length - 1]! ^= 1;
    expect(codec.open(tampered, from)).toBeUndefined();
    const forged = new Uint8Array(34);
    forged.set([0, 0, 0, 0x77], 6); // claims node 0x77 inside A's frame
    expect(codec.open(sender.seal(forged, B), from)).toBeUndefined();
    expect(codec.open(Buffer.from('PILT and more bytes'), from)).toBeUndefined();
    expect(codec.open(new Uint8Array(3), from)).toBeUndefined();
    expect(codec.counters).toEqual({ sealed: 0, opened: 1, rejected: 5 });
  });
});
