import { seededRandom } from '@pilot/testkit';
import { decodePacket, encodePacket, type Packet, PacketFlag, Protocol } from '@pilot/wire';
import { describe, expect, it } from 'vitest';
import { ConnectionState, Endpoint, TransportErrorCode } from '../src/index.js';
import { A, B, drain, Pair } from './harness.js';

const flagsOf = (bytes: Uint8Array): number => decodePacket(bytes).flags;

function raw(init: Partial<Packet> & { flags: number }): Uint8Array {
  return encodePacket({
    protocol: Protocol.STREAM,
    src: A,
    dst: B,
    srcPort: 50_000,
    dstPort: 1000,
    window: 100,
    ...init,
  });
}

/** An endpoint B listening on 1000, driven by hand. */
function handDriven(): { b: Endpoint; sent: () => Packet[] } {
  const r = seededRandom(9);
  const b = new Endpoint({ localAddress: B, random: () => r.nextU32() });
  b.listen(1000);
  return { b, sent: () => b.poll(0).map((t) => decodePacket(t.bytes)) };
}

describe('handshake', () => {
  it('SYN → SYN|ACK → ACK; the responder exposes the connection only after the final ACK', () => {
    const { b, sent } = handDriven();
    b.receive(raw({ flags: PacketFlag.SYN, seq: 500 }), 0);
    const [synAck] = sent();
    expect(synAck!.flags).toBe(PacketFlag.SYN | PacketFlag.ACK);
    expect(synAck!.ack).toBe(501);
    expect(b.accept(1000)).toBeUndefined(); // SYN_RECEIVED is not accepted (reference §14 fix)
    b.receive(raw({ flags: PacketFlag.ACK, seq: 501, ack: (synAck!.seq + 1) >>> 0 }), 10);
    const conn = b.accept(1000)!;
    expect(conn.state).toBe(ConnectionState.ESTABLISHED);
    expect(b.pollEvent()).toEqual({ type: 'incoming', port: 1000 });
  });
  it('accepts data right after SYN-ACK, as a reference peer sends it when its ACK is lost', () => {
    const { b, sent } = handDriven();
    b.receive(raw({ flags: PacketFlag.SYN, seq: 0 }), 0);
    const [synAck] = sent();
    b.receive(
      raw({
        flags: PacketFlag.ACK,
        seq: 1,
        ack: (synAck!.seq + 1) >>> 0,
        payload: new TextEncoder().encode('hello'),
      }),
      5,
    );
    const conn = b.accept(1000)!;
    expect(new TextDecoder().decode(conn.read())).toBe('hello');
  });
  it('re-sends SYN|ACK for a duplicate SYN and reaps a half-open connection', () => {
    const { b, sent } = handDriven();
    b.receive(raw({ flags: PacketFlag.SYN, seq: 0 }), 0);
    sent();
    b.receive(raw({ flags: PacketFlag.SYN, seq: 0 }), 100);
    expect(sent().map((p) => p.flags)).toEqual([PacketFlag.SYN | PacketFlag.ACK]);
    let now = 0;
    while (b.connectionCount > 0 && now < 120_000) {
      now = b.nextTimeout()!;
      b.onTimeout(now);
      sent();
    }
    expect(b.connectionCount).toBe(0);
    expect(b.counters.halfOpenReaped).toBe(1);
  });
  it('RST for a SYN to a port nobody listens on, and connect fails with CONNECTION_REFUSED', () => {
    const pair = new Pair();
    const client = pair.a.connect(B, 2222, pair.now);
    pair.run(() => client.state === ConnectionState.CLOSED, 10_000);
    expect(client.error?.code).toBe(TransportErrorCode.CONNECTION_REFUSED);
    expect(pair.b.counters.synRefused).toBe(1);
  });
  it('gives up dialling after the SYN retries (about 29 s of silence)', () => {
    const pair = new Pair({ link: { loss: 1 } });
    const client = pair.a.connect(B, 1000, pair.now);
    pair.run(() => client.state === ConnectionState.CLOSED, 120_000);
    expect(client.error?.code).toBe(TransportErrorCode.CONNECT_TIMEOUT);
    expect(pair.now).toBeGreaterThan(25_000);
    expect(pair.now).toBeLessThan(60_000);
  });
  it('answers a stream packet for an unknown connection with RST', () => {
    const { b, sent } = handDriven();
    b.receive(raw({ flags: PacketFlag.ACK, seq: 7, ack: 9, dstPort: 1234 }), 0);
    const [rst] = sent();
    expect(rst!.flags & PacketFlag.RST).toBe(PacketFlag.RST);
    expect(rst!.seq).toBe(9);
    expect(b.counters.unknownConnection).toBe(1);
    b.receive(raw({ flags: PacketFlag.RST, seq: 7, dstPort: 1234 }), 0);
    expect(sent()).toEqual([]);
  });
});

describe('close', () => {
  it('FIN / ACK / FIN / ACK with TIME_WAIT on the side that closed first', () => {
    const pair = new Pair({ link: { delay: 5 } });
    const { client, server } = pair.connect();
    client.write(new Uint8Array([1, 2, 3]));
    client.close();
    const got: Uint8Array[] = [];
    pair.run(() => {
      drain(server, got);
      return server.readEnded;
    });
    expect(client.state).toBe(ConnectionState.FIN_WAIT);
    expect(server.state).toBe(ConnectionState.CLOSE_WAIT);
    server.write(new Uint8Array([9])); // half-close: the other direction still works
    server.close();
    const back: Uint8Array[] = [];
    pair.run(() => {
      drain(client, back);
      return client.state === ConnectionState.TIME_WAIT && server.state === ConnectionState.CLOSED;
    });
    expect(back.flatMap((c) => [...c])).toEqual([9]);
    pair.sim.runFor(11_000);
    expect(client.state).toBe(ConnectionState.CLOSED);
    expect(pair.a.connectionCount + pair.b.connectionCount).toBe(0);
  });
  it('answers a repeated FIN with a plain ACK, never FIN|ACK (no echo loop)', () => {
    const pair = new Pair({ link: { delay: 5 } });
    const { client, server } = pair.connect();
    client.close();
    pair.run(() => server.readEnded && client.state === ConnectionState.FIN_WAIT);
    let fin: Uint8Array | undefined;
    pair.sim.onSend = (from, bytes) => {
      if (from === 'b' && (flagsOf(bytes) & PacketFlag.FIN) !== 0) fin = bytes.slice();
      return true;
    };
    server.close();
    pair.run(() => client.state === ConnectionState.TIME_WAIT);
    const replies: number[] = [];
    pair.sim.onSend = (from, bytes) => {
      if (from === 'a') replies.push(flagsOf(bytes));
      return true;
    };
    pair.sim.inject('a', fin!); // the peer retransmits its FIN|ACK while we are in TIME_WAIT
    pair.sim.flush();
    expect(replies).toEqual([PacketFlag.ACK]);
    expect(replies.every((f) => (f & PacketFlag.FIN) === 0)).toBe(true);
  });
  it('abort sends RST and the peer reports CONNECTION_RESET', () => {
    const pair = new Pair({ link: { delay: 5 } });
    const { client, server } = pair.connect();
    client.abort();
    pair.run(() => server.state === ConnectionState.CLOSED);
    expect(server.error?.code).toBe(TransportErrorCode.CONNECTION_RESET);
  });
});

describe('timers', () => {
  it('keepalive probes an idle peer and RSTs after 3 unanswered probes', () => {
    const pair = new Pair({ link: { delay: 5 }, a: { idleTimeout: 0 }, b: { idleTimeout: 0 } });
    const { client } = pair.connect();
    pair.sim.runFor(200_000); // both alive: probes are answered
    expect(client.state).toBe(ConnectionState.ESTABLISHED);
    pair.sim.setConditions('ab', { loss: 1 });
    pair.sim.setConditions('ba', { loss: 1 });
    const cut = pair.now;
    pair.run(() => client.state === ConnectionState.CLOSED, 300_000);
    expect(client.error?.code).toBe(TransportErrorCode.PEER_DEAD);
    expect(pair.now - cut).toBeGreaterThan(60_000);
    expect(pair.now - cut).toBeLessThan(120_000);
  });
  it('closes a connection idle for 120 s', () => {
    const pair = new Pair({ link: { delay: 5 } });
    const { client } = pair.connect();
    pair.run(() => client.state !== ConnectionState.ESTABLISHED, 200_000);
    expect(pair.now).toBeGreaterThanOrEqual(120_000);
    expect(client.error?.code).toBe(TransportErrorCode.IDLE_TIMEOUT);
  });
  it('a lost last segment is recovered by the tail loss probe, well before an RTO', () => {
    const pair = new Pair({ link: { delay: 20 } });
    const { client, server } = pair.connect();
    client.write(new Uint8Array(20_000));
    const got: Uint8Array[] = [];
    pair.run(() => drain(server, got) >= 0 && got.reduce((n, x) => n + x.length, 0) === 20_000);
    let dropped = false;
    pair.sim.onSend = (from, bytes) => {
      const p = decodePacket(bytes);
      if (from === 'a' && !dropped && p.payload.length === 500) {
        dropped = true;
        return false;
      }
      return true;
    };
    client.write(new Uint8Array(1130 * 3 + 500));
    const start = pair.now;
    pair.run(
      () => drain(server, got) >= 0 && got.reduce((n, x) => n + x.length, 0) === 20_000 + 1130 * 3 + 500,
      10_000,
    );
    expect(dropped).toBe(true);
    expect(pair.a.counters.tailLossProbes).toBeGreaterThanOrEqual(1);
    expect(pair.a.counters.rtoTimeouts).toBe(0);
    expect(pair.now - start).toBeLessThan(client.stats().rto);
  });

  it('fast retransmit: three duplicate ACKs retransmit the first missing segment (peer without SACK)', () => {
    const pair = new Pair({ link: { delay: 10, bandwidth: 2000 } });
    const { client, server } = pair.connect();
    client.write(new Uint8Array(1130 * 8));
    pair.run(() => server.readableBytes === 1130 * 8);
    drain(server, []);
    let dropped = false;
    pair.sim.onSend = (from, bytes) => {
      const p = decodePacket(bytes);
      if (from === 'a' && !dropped && p.payload.length === 1130) {
        dropped = true;
        return false;
      }
      // Strip SACK from B's ACKs, as a peer that only sends duplicate ACKs would.
      if (from === 'b' && p.payload.length > 0) {
        pair.sim.inject('a', encodePacket({ ...p, payload: new Uint8Array(0) }));
        return false;
      }
      return true;
    };
    client.write(new Uint8Array(1130 * 10));
    pair.run(() => drain(server, []) >= 0 && client.pendingBytes === 0, 10_000);
    expect(pair.a.counters.fastRetransmits).toBe(1);
  });
});
