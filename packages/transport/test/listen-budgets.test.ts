import { describe, expect, it } from 'vitest';
import { ConnectionState } from '../src/index.js';
import { B, Pair } from './harness.js';

describe('listener budgets (a service for strangers, such as port 444)', () => {
  it('few connections per source node, and a small receive buffer whatever the sender does', () => {
    const pair = new Pair({ link: { delay: 5 } });
    pair.b.listen(444, { maxConnectionsPerSource: 4, receiveWindowSegments: 16 });
    const clients = Array.from({ length: 6 }, () => pair.a.connect(B, 444, pair.now));
    pair.run(() =>
      clients.every((c) => c.state === ConnectionState.ESTABLISHED || c.state === ConnectionState.CLOSED),
    );
    const open = clients.filter((c) => c.state === ConnectionState.ESTABLISHED);
    expect(open).toHaveLength(4);
    expect(pair.b.counters.synPerSourceRefused).toBe(2);

    // The server never reads: what it holds stays within its 16 segments, and the sender is told so.
    let server = pair.b.accept(444);
    pair.run(() => {
      server ??= pair.b.accept(444);
      return server !== undefined;
    });
    if (server === undefined) throw new Error('nothing accepted');
    const accepted = server;
    const client = open.find((c) => c.localPort === accepted.remotePort)!;
    client.write(new Uint8Array(1 << 20));
    pair.run(() => pair.now > 5_000);
    const mss = 1200 - 70;
    expect(server.readableBytes).toBeLessThanOrEqual(17 * mss);
    expect(client.stats().peerWindow).toBeLessThanOrEqual(16);

    // Closing one lets the source open another.
    for (const c of open) c.abort();
    pair.run(() => pair.b.connectionList().length === 0, 120_000);
    const again = pair.a.connect(B, 444, pair.now);
    pair.run(() => again.state === ConnectionState.ESTABLISHED);
    expect(again.state).toBe(ConnectionState.ESTABLISHED);
  });
});
