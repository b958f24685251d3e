import { hostileBasics, hostileVariants, seededRandom } from '@pilot/testkit';
import { decodePacket, encodePacket, encodeSack, type Packet, PacketFlag, Protocol } from '@pilot/wire';
import { describe, expect, it } from 'vitest';
import { ConnectionState, Endpoint } from '../src/index.js';
import { A, B, drain, Pair } from './harness.js';

/** An established pair with 10 KiB sent from A to B and acknowledged; returns a packet forger. */
function established() {
  const pair = new Pair({ link: { delay: 5 } });
  const { client, server } = pair.connect();
  client.write(new Uint8Array(10_000));
  pair.run(() => server.readableBytes === 10_000 && client.pendingBytes === 0);
  drain(server, []);
  // Learn the live sequence numbers from one packet each way.
  let fromA: Packet | undefined;
  let fromB: Packet | undefined;
  pair.sim.onSend = (from, bytes) => {
    if (from === 'a') fromA ??= decodePacket(bytes);
    else fromB ??= decodePacket(bytes);
    return true;
  };
  client.write(new Uint8Array(10));
  server.write(new Uint8Array(10));
  pair.run(
    () =>
      fromA !== undefined && fromB !== undefined && client.pendingBytes === 0 && server.pendingBytes === 0,
  );
  pair.sim.onSend = undefined;
  const toA = (init: Partial<Packet> & { flags: number }): Uint8Array =>
    encodePacket({
      protocol: Protocol.STREAM,
      src: B,
      dst: A,
      srcPort: server.localPort,
      dstPort: client.localPort,
      window: 100,
      seq: fromB!.seq,
      ack: fromB!.ack,
      ...init,
    });
  return { pair, client, server, fromA: fromA!, fromB: fromB!, toA };
}

describe('hostile input is dropped and counted, nothing throws', () => {
  it('bad checksums and garbage', () => {
    const { pair, client, toA } = established();
    const valid = toA({ flags: PacketFlag.ACK });
    for (const input of [...hostileBasics(), ...hostileVariants(valid)]) {
      expect(() => pair.a.receive(input.bytes, pair.now)).not.toThrow();
    }
    expect(pair.a.counters.badChecksum).toBeGreaterThan(100);
    expect(pair.a.counters.malformed).toBeGreaterThan(0);
    expect(client.state).toBe(ConnectionState.ESTABLISHED);
  });
  it('an ACK beyond what was sent', () => {
    const { pair, client, fromA, toA } = established();
    const before = client.stats();
    pair.a.receive(toA({ flags: PacketFlag.ACK, ack: (fromA.seq + 1_000_000) >>> 0 }), pair.now);
    expect(pair.a.counters.ackBeyondSent).toBe(1);
    expect(client.stats().cwnd).toBe(before.cwnd);
    expect(client.state).toBe(ConnectionState.ESTABLISHED);
  });
  it('SACK blocks that are inverted or point past what was sent', () => {
    const { pair, client, fromA, toA } = established();
    const end = (fromA.seq + 10) >>> 0;
    pair.a.receive(
      toA({
        flags: PacketFlag.ACK,
        ack: end,
        payload: encodeSack([{ left: (end + 100) >>> 0, right: (end + 5000) >>> 0 }]),
      }),
      pair.now,
    );
    // An inverted block cannot be encoded by the codec; write it by hand.
    const inverted = new Uint8Array([0x53, 0x41, 0x43, 0x4b, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    new DataView(inverted.buffer).setUint32(5, (end - 5) >>> 0);
    new DataView(inverted.buffer).setUint32(9, (end - 50) >>> 0);
    pair.a.receive(toA({ flags: PacketFlag.ACK, ack: end, payload: inverted }), pair.now);
    expect(pair.a.counters.badSack).toBe(2);
    expect(client.state).toBe(ConnectionState.ESTABLISHED);
  });
  it('data with a sequence number far outside the window', () => {
    const { pair, client, fromB, toA } = established();
    const before = client.readableBytes;
    for (const offset of [0x1000_0000, -0x1000_0000, 0x7fff_0000]) {
      pair.a.receive(
        toA({ flags: PacketFlag.ACK, seq: (fromB.seq + offset) >>> 0, payload: new Uint8Array(100) }),
        pair.now,
      );
    }
    expect(pair.a.counters.badSequence).toBe(3);
    expect(client.readableBytes).toBe(before);
  });
  it('a SYN flood is rate-limited per source and overall, with bounded memory', () => {
    const r = seededRandom(4);
    const b = new Endpoint({ localAddress: B, random: () => r.nextU32() });
    b.listen(80);
    for (let i = 0; i < 5000; i++) {
      const src = { network: 0, node: 1000 + (i % 700) };
      b.receive(
        encodePacket({
          protocol: Protocol.STREAM,
          flags: PacketFlag.SYN,
          src,
          dst: B,
          srcPort: 40_000 + (i % 1000),
          dstPort: 80,
          seq: i,
          window: 10,
        }),
        0,
      );
    }
    expect(b.connectionCount).toBe(100); // global bucket: 100 per second
    expect(b.counters.synRateLimited).toBe(4900);
    // One source alone gets a burst of 64, then 10 per second.
    const c = new Endpoint({ localAddress: B, random: () => r.nextU32() });
    c.listen(80);
    for (let i = 0; i < 100; i++) {
      c.receive(
        encodePacket({
          protocol: Protocol.STREAM,
          flags: PacketFlag.SYN,
          src: A,
          dst: B,
          srcPort: 40_000 + i,
          dstPort: 80,
          seq: i,
          window: 10,
        }),
        0,
      );
    }
    expect(c.connectionCount).toBe(64);
    // Nobody completes the handshake: the half-open connections are reaped.
    let now = 0;
    while (b.connectionCount > 0 && now < 200_000) {
      now = b.nextTimeout() ?? now + 1000;
      b.onTimeout(now);
      b.poll(now, 10_000);
    }
    expect(b.connectionCount).toBe(0);
  });
  it('the per-port connection cap answers RST', () => {
    const r = seededRandom(5);
    const b = new Endpoint({
      localAddress: B,
      random: () => r.nextU32(),
      maxConnectionsPerPort: 3,
      synRatePerSource: 1000,
      synRateGlobal: 1000,
    });
    b.listen(80);
    for (let i = 0; i < 5; i++) {
      b.receive(
        encodePacket({
          protocol: Protocol.STREAM,
          flags: PacketFlag.SYN,
          src: A,
          dst: B,
          srcPort: 40_000 + i,
          dstPort: 80,
          seq: i,
          window: 10,
        }),
        0,
      );
    }
    expect(b.connectionCount).toBe(3);
    const rsts = b
      .poll(0)
      .map((t) => decodePacket(t.bytes))
      .filter((p) => (p.flags & PacketFlag.RST) !== 0);
    expect(rsts).toHaveLength(2);
  });
  it('a user payload that looks like a SACK is split so a reference peer reads it as data', () => {
    const pair = new Pair({ link: { delay: 5 } });
    const { client, server } = pair.connect();
    const tricky = encodeSack([{ left: 1, right: 2 }]);
    client.write(tricky);
    const got: Uint8Array[] = [];
    pair.run(() => drain(server, got) >= 0 && got.reduce((n, c) => n + c.length, 0) === tricky.length);
    expect(Buffer.concat(got)).toEqual(Buffer.from(tricky));
  });
});
