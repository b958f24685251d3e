import { once } from 'node:events';
import { seededRandom } from '@pilot/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { type PacketLink, type PacketReceiver, type PilotStream, UdpTransport } from '../src/node/index.js';
import { readAll, sha, writeAll } from './streams.js';

const A = { network: 0, node: 0xa1 };
const B = { network: 0, node: 0xb2 };

/**
 * An in-memory packet link between nodes (no socket at all): what the transport needs from the
 * layer below is `send`, `reaches` and `setReceiver`, nothing else.
 */
class MemoryLink implements PacketLink {
  receiver: PacketReceiver | undefined;
  sent = 0;
  readonly peers = new Map<number, MemoryLink>();

  send(packet: Uint8Array, node: number): void {
    const peer = this.peers.get(node);
    if (peer === undefined) return;
    this.sent++;
    // The packet is lent for the call only: copy it, and deliver it on a later turn like a socket.
    const copy = Uint8Array.from(packet);
    setImmediate(() => peer.receiver?.(copy));
  }

  reaches(node: number): boolean {
    return this.peers.has(node);
  }

  setReceiver(receiver: PacketReceiver | undefined): void {
    this.receiver = receiver;
  }
}

let open: UdpTransport<MemoryLink>[] = [];

afterEach(async () => {
  await Promise.all(open.map((t) => t.close()));
  open = [];
});

describe('UdpTransport over a PacketLink of its owner', () => {
  it('moves a stream over an in-memory link, and leaves the link to its owner at close', async () => {
    const [linkA, linkB] = [new MemoryLink(), new MemoryLink()];
    const a = await UdpTransport.create({ localAddress: A, link: linkA });
    const b = await UdpTransport.create({ localAddress: B, link: linkB });
    open.push(a, b);
    expect(a.link).toBe(linkA);
    // No path yet: connect fails at once, nothing is sent.
    await expect(a.connect(B, 1000)).rejects.toMatchObject({ code: 'TRANSPORT_NO_ROUTE' });
    linkA.peers.set(B.node, linkB);
    linkB.peers.set(A.node, linkA);
    b.listen(1000);
    const accepted = once(b, 'connection') as Promise<[PilotStream]>;
    const client = await a.connect(B, 1000);
    const [server] = await accepted;
    const payload = seededRandom(3).bytes(1024 * 1024);
    const [received] = await Promise.all([readAll(server), writeAll(client, payload)]);
    expect(sha(received)).toBe(sha(payload));
    expect(linkA.sent).toBeGreaterThan(0);
    // A plain-link accessor on a transport over another link is refused, not guessed.
    expect(() => a.udpAddress).toThrow(expect.objectContaining({ code: 'TRANSPORT_BAD_ARGUMENT' }));
    server.destroy();
    client.destroy();
    await a.close();
    await b.close();
    expect(linkA.receiver).toBeUndefined();
    expect(linkB.receiver).toBeUndefined();
  }, 60_000);
});
