import { randomBytes } from 'node:crypto';
import { decodePacket, Protocol } from '@pilot/wire';
import { describe, expect, it } from 'vitest';
import { MAX_PROBES, PathMtuProber } from '../src/path/path-mtu.js';
import { B, concat, drain, Pair } from './harness.js';

/** PILS adds 36 bytes around a packet (magic, sender, nonce, tag): the datagram on the wire. */
const SEALED = 36;

/** A path that carries datagrams up to `mtu` bytes and silently drops larger ones (no ICMP). */
function limitPath(pair: Pair, mtu: () => number): void {
  pair.sim.onSend = (_from, bytes) => bytes.length + SEALED <= mtu();
}

describe('PathMtuProber (RFC 8899 search, sans-IO)', () => {
  it('tries the ceiling first and stops when it is answered', () => {
    const p = new PathMtuProber({ base: 1200, ceiling: 16384 });
    expect(p.size).toBe(1200);
    expect(p.pollProbe(0)).toBe(16384);
    expect(p.onProbeAnswered(16384, 5)).toBe(true);
    expect(p.size).toBe(16384);
    expect(p.state).toBe('complete');
    expect(p.pollProbe(10)).toBe(0);
  });

  it('a size that goes unanswered MAX_PROBES times fails; the search halves down to what passes', () => {
    const p = new PathMtuProber({ base: 1200, ceiling: 1472 });
    const mtu = 1280;
    let now = 0;
    for (let step = 0; step < 100 && p.state === 'searching'; step++) {
      const size = p.pollProbe(now);
      if (size === 0) break;
      if (size <= mtu) p.onProbeAnswered(size, now);
      else {
        now = p.nextTimeout();
        p.onTimeout(now);
      }
    }
    expect(p.state).toBe('complete');
    expect(p.size).toBeLessThanOrEqual(mtu);
    expect(p.size).toBeGreaterThan(mtu - 16);
    expect(p.stats.probesLost % MAX_PROBES).toBe(0);
  });

  it('a timeout above the base falls back at once; the confirmed size returns only if it answers', () => {
    const p = new PathMtuProber({ base: 1200, ceiling: 8192 });
    p.pollProbe(0);
    p.onProbeAnswered(8192, 1);
    expect(p.onRetransmissionTimeout()).toBe(true);
    expect(p.size).toBe(1200);
    expect(p.state).toBe('confirming');
    expect(p.pollProbe(2)).toBe(8192);
    p.onProbeAnswered(8192, 3); // ordinary loss: the size comes back
    expect(p.size).toBe(8192);
    // Now a black hole: the confirmation goes unanswered MAX_PROBES times.
    p.onRetransmissionTimeout();
    let now = 10;
    for (let i = 0; i < MAX_PROBES; i++) {
      expect(p.pollProbe(now)).toBe(8192);
      now = p.nextTimeout();
      p.onTimeout(now);
    }
    expect(p.stats.blackHoles).toBe(1);
    expect(p.size).toBe(1200);
    expect(p.state).toBe('searching');
    const next = p.pollProbe(now);
    expect(next).toBeGreaterThan(1200);
    expect(next).toBeLessThan(8192);
  });

  it('a search that ended below the ceiling tries again after the raise interval', () => {
    const p = new PathMtuProber({ base: 1200, ceiling: 1472, raiseInterval: 60_000 });
    let now = 0;
    for (let i = 0; i < 100 && p.state === 'searching'; i++) {
      const size = p.pollProbe(now);
      if (size === 0) break;
      if (size <= 1300) p.onProbeAnswered(size, now);
      else {
        now = p.nextTimeout();
        p.onTimeout(now);
      }
    }
    expect(p.state).toBe('complete');
    expect(p.nextTimeout()).toBe(now + 60_000);
    p.onTimeout(now + 60_000);
    expect(p.pollProbe(now + 60_000)).toBe(1472);
  });
});

describe('path MTU discovery between two endpoints', () => {
  it('segments grow to the path MTU (probes of padded pings), and the data arrives intact', () => {
    const pair = new Pair({ link: { delay: 5, bandwidth: 4000 } });
    limitPath(pair, () => 9000);
    const { client, server } = pair.connect();
    pair.a.probePathMtu(B, 16384, { probeTimeout: 50 });
    pair.b.listen(1); // the answering side needs nothing but a running endpoint
    const data = randomBytes(8 * 1024 * 1024);
    const got: Uint8Array[] = [];
    let received = 0;
    let largest = 0;
    const tap = pair.sim.onSend!;
    pair.sim.onSend = (from, bytes) => {
      const packet = decodePacket(bytes);
      if (from === 'a' && packet.protocol === Protocol.STREAM)
        largest = Math.max(largest, bytes.length + SEALED);
      return tap(from, bytes);
    };
    let offset = 0;
    expect(
      pair.run(() => {
        while (offset < data.length) {
          const n = client.write(data.subarray(offset, offset + 65536));
          if (n === 0) break;
          offset += n;
        }
        received += drain(server, got);
        return received === data.length;
      }),
    ).toBe(true);
    expect(Buffer.from(concat(got)).equals(data)).toBe(true);
    const info = pair.a.pathMtuInfo(B)!;
    expect(info.size).toBeLessThanOrEqual(9000);
    expect(info.size).toBeGreaterThan(9000 - 16);
    expect(info.state).toBe('complete');
    expect(largest).toBe(info.size);
    expect(client.segmentSize).toBe(info.size - 70);
    // B never probed: it keeps the base size.
    expect(pair.b.pathMtu({ network: 0, node: 0x0a })).toBe(1200);
  });

  it('a black hole mid-transfer: back to the base size at the first timeout, the transfer completes', () => {
    const pair = new Pair({ link: { delay: 10, bandwidth: 4000 } });
    let mtu = 65_535;
    limitPath(pair, () => mtu);
    const { client, server } = pair.connect();
    pair.a.probePathMtu(B, 16384, { probeTimeout: 50 });
    const data = randomBytes(8 * 1024 * 1024);
    const got: Uint8Array[] = [];
    let received = 0;
    let offset = 0;
    const ok = pair.run(() => {
      while (offset < data.length) {
        const n = client.write(data.subarray(offset, offset + 65536));
        if (n === 0) break;
        offset += n;
      }
      received += drain(server, got);
      // A quarter in, the path stops carrying anything above 1300 bytes, without telling anyone.
      if (received > data.length / 4 && mtu > 1300) mtu = 1300;
      return received === data.length;
    });
    expect(ok).toBe(true);
    expect(Buffer.from(concat(got)).equals(data)).toBe(true);
    const info = pair.a.pathMtuInfo(B)!;
    expect(info.stats.blackHoles).toBeGreaterThanOrEqual(1);
    expect(info.size).toBeLessThanOrEqual(1300);
    expect(client.state).toBe(4);
  });

  it('without probePathMtu nothing is probed and every datagram stays at the base size', () => {
    const pair = new Pair({ link: { delay: 1 } });
    let largest = 0;
    let controls = 0;
    pair.sim.onSend = (_from, bytes) => {
      largest = Math.max(largest, bytes.length + SEALED);
      if (decodePacket(bytes).protocol === Protocol.CONTROL) controls++;
      return true;
    };
    const { client, server } = pair.connect();
    const got: Uint8Array[] = [];
    client.write(randomBytes(512 * 1024));
    pair.run(() => drain(server, got) >= 0 && concat(got).length === 512 * 1024);
    expect(largest).toBeLessThanOrEqual(1200);
    expect(controls).toBe(0);
  });
});
