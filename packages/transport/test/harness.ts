import { type LinkConditions, LinkSimulation, seededRandom } from '@pilot/testkit';
import { type Connection, Endpoint, type EndpointOptions, type TransportEvent } from '../src/index.js';

export const A = { network: 0, node: 0x0a } as const;
export const B = { network: 0, node: 0x0b } as const;

/** Two endpoints on a seeded link, with their events collected. */
export class Pair {
  readonly a: Endpoint;
  readonly b: Endpoint;
  readonly sim: LinkSimulation;
  readonly eventsA: TransportEvent[] = [];
  readonly eventsB: TransportEvent[] = [];

  constructor(
    options: {
      seed?: number;
      link?: LinkConditions;
      back?: LinkConditions;
      a?: Partial<EndpointOptions>;
      b?: Partial<EndpointOptions>;
    } = {},
  ) {
    const seed = options.seed ?? 1;
    const ra = seededRandom(seed ^ 0xa);
    const rb = seededRandom(seed ^ 0xb);
    this.a = new Endpoint({ localAddress: A, random: () => ra.nextU32(), ...options.a });
    this.b = new Endpoint({ localAddress: B, random: () => rb.nextU32(), ...options.b });
    this.sim = new LinkSimulation(this.a, this.b, {
      seed,
      ...(options.link === undefined ? {} : { ab: options.link }),
      ...(options.back === undefined ? {} : { ba: options.back }),
    });
  }

  get now(): number {
    return this.sim.now;
  }

  /** Moves pending events into the lists. */
  drainEvents(): void {
    for (let e = this.a.pollEvent(); e !== undefined; e = this.a.pollEvent()) this.eventsA.push(e);
    for (let e = this.b.pollEvent(); e !== undefined; e = this.b.pollEvent()) this.eventsB.push(e);
  }

  run(done: () => boolean, limit = 600_000): boolean {
    return this.sim.runUntil(() => {
      this.drainEvents();
      return done();
    }, limit);
  }

  /** A connects to B's `port` (listening) and both sides' connections are returned. */
  connect(port = 1000): { client: Connection; server: Connection } {
    this.b.listen(port);
    const client = this.a.connect(B, port, this.now);
    let server: Connection | undefined;
    const ok = this.run(() => {
      server ??= this.b.accept(port);
      return server !== undefined && client.state === 4;
    }, 60_000);
    if (!ok || server === undefined) throw new Error('handshake did not complete');
    return { client, server };
  }
}

/** Reads everything readable from a connection into `sink`. */
export function drain(connection: Connection, sink: Uint8Array[]): number {
  let total = 0;
  for (let chunk = connection.read(); chunk !== undefined; chunk = connection.read()) {
    sink.push(chunk);
    total += chunk.length;
  }
  return total;
}

export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const c of chunks) length += c.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * Sends `payload` from `from` to `to` through the pair, reading as it arrives, and returns what
 * was received once `to` saw the end of stream (the sender closes after the last byte).
 */
export function transfer(
  pair: Pair,
  from: Connection,
  to: Connection,
  payload: Uint8Array,
  limit = 3_600_000,
): Uint8Array {
  const received: Uint8Array[] = [];
  let offset = 0;
  let closed = false;
  const ok = pair.run(() => {
    while (offset < payload.length) {
      const n = from.write(payload.subarray(offset, Math.min(payload.length, offset + 65_536)));
      if (n === 0) break;
      offset += n;
    }
    if (offset === payload.length && !closed) {
      from.close();
      closed = true;
    }
    drain(to, received);
    return to.readEnded;
  }, limit);
  if (!ok)
    throw new Error(
      `transfer stalled at ${offset}/${payload.length} written, ${received.reduce((n, c) => n + c.length, 0)} received`,
    );
  return concat(received);
}
