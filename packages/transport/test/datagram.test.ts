import { decodePacket, encodePacket, PacketFlag, Protocol } from '@pilot/wire';
import { describe, expect, it } from 'vitest';
import { A, B, Pair } from './harness.js';

describe('datagrams and ping', () => {
  it('a datagram goes out ahead of queued stream data and retransmissions', () => {
    const pair = new Pair({ link: { delay: 10 } });
    const { client } = pair.connect();
    client.write(new Uint8Array(500_000));
    pair.sim.setConditions('ab', { delay: 10, loss: 0.5 });
    pair.sim.runFor(300); // losses, retransmissions pending, window full
    pair.a.sendDatagram(B, 9, Uint8Array.of(42));
    const first = pair.a.poll(pair.now)[0];
    expect(first).toBeDefined();
    const packet = decodePacket(first!.bytes);
    expect(packet.protocol).toBe(Protocol.DATAGRAM);
    expect([...packet.payload]).toEqual([42]);
  });
  it('carries a sender counter in seq, so duplicates are delivered once; seq 0 (reference) is never deduplicated', () => {
    const pair = new Pair();
    const dg = (seq: number): Uint8Array =>
      encodePacket({
        protocol: Protocol.DATAGRAM,
        src: A,
        dst: B,
        srcPort: 50_000,
        dstPort: 9,
        seq,
        payload: Uint8Array.of(1),
      });
    for (const seq of [7, 7, 8, 0, 0]) pair.b.receive(dg(seq), 0);
    pair.drainEvents();
    expect(pair.eventsB.filter((e) => e.type === 'datagram')).toHaveLength(4);
    expect(pair.b.counters.duplicateDatagrams).toBe(1);
  });
  it('rejects empty and oversized datagrams on send, drops empty ones on receipt', () => {
    const pair = new Pair();
    expect(() => pair.a.sendDatagram(B, 9, new Uint8Array(0))).toThrow();
    expect(() => pair.a.sendDatagram(B, 9, new Uint8Array(1131))).toThrow();
    pair.b.receive(encodePacket({ protocol: Protocol.DATAGRAM, src: A, dst: B, srcPort: 1, dstPort: 9 }), 0);
    expect(pair.b.pollEvent()).toBeUndefined();
  });
  it('answers a control ping on port 0 with ACK, ack = seq + 1 and the same payload', () => {
    const pair = new Pair();
    pair.b.receive(
      encodePacket({
        protocol: Protocol.CONTROL,
        src: A,
        dst: B,
        srcPort: 3333,
        dstPort: 0,
        seq: 41,
        payload: Uint8Array.of(5, 6),
      }),
      0,
    );
    const reply = decodePacket(pair.b.poll(0)[0]!.bytes);
    expect(reply.flags).toBe(PacketFlag.ACK);
    expect(reply.protocol).toBe(Protocol.CONTROL);
    expect(reply.ack).toBe(42);
    expect(reply.dstPort).toBe(3333);
    expect([...reply.payload]).toEqual([5, 6]);
  });
});
