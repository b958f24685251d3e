import { FakeClock } from './fake-clock.js';
import { type SeededRandom, seededRandom } from './random.js';

/**
 * Anything driven the sans-IO way (quiche / quic-go style): packets in with the time, packets out
 * on poll, one deadline. `@pilot/transport`'s Endpoint has this shape.
 */
export interface SansIoNode {
  receive(bytes: Uint8Array, now: number): void;
  poll(now: number): readonly { readonly bytes: Uint8Array }[];
  nextTimeout(): number | undefined;
  onTimeout(now: number): void;
}

/** How one direction of the link misbehaves. Probabilities are 0..1, times ms, rates bytes/ms. */
export interface LinkConditions {
  /** Probability that a packet is dropped. */
  readonly loss?: number;
  /** Probability that a packet is delivered twice. */
  readonly duplicate?: number;
  /** Probability that a packet is held back by up to `reorderDelay` extra. */
  readonly reorder?: number;
  readonly reorderDelay?: number;
  /** One-way propagation delay. */
  readonly delay?: number;
  /** Uniform extra delay in [0, jitter). */
  readonly jitter?: number;
  /** Serialisation rate in bytes per ms (1 byte/ms = 1 kB/s); unlimited when absent. */
  readonly bandwidth?: number;
  /** Bytes the bottleneck queue holds before it drops new packets (default 256 KiB). */
  readonly queueLimit?: number;
}

export interface LinkStats {
  sent: number;
  delivered: number;
  dropped: number;
  duplicated: number;
  reordered: number;
  queueDrops: number;
  bytes: number;
}

interface Delivery {
  readonly time: number;
  readonly order: number;
  readonly to: SansIoNode;
  readonly bytes: Uint8Array;
}

/** A binary min-heap of deliveries by (time, order): deterministic for equal times. */
class DeliveryQueue {
  private readonly heap: Delivery[] = [];

  get size(): number {
    return this.heap.length;
  }
  peek(): Delivery | undefined {
    return this.heap[0];
  }
  push(item: Delivery): void {
    const heap = this.heap;
    heap.push(item);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }
  pop(): Delivery | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && less(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && less(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  }
}

function less(a: Delivery, b: Delivery): boolean {
  return a.time < b.time || (a.time === b.time && a.order < b.order);
}

class Direction {
  busyUntil = 0;
  readonly stats: LinkStats = {
    sent: 0,
    delivered: 0,
    dropped: 0,
    duplicated: 0,
    reordered: 0,
    queueDrops: 0,
    bytes: 0,
  };
  constructor(
    readonly to: SansIoNode,
    public conditions: LinkConditions,
  ) {}
}

/**
 * Two sans-IO nodes joined by a seeded, misbehaving link, on a fake clock. Every run with the same
 * seed and conditions replays exactly: losses, duplicates, reordering, delay and a bandwidth
 * bottleneck with a drop-tail queue.
 */
export class LinkSimulation {
  readonly clock: FakeClock;
  readonly a: SansIoNode;
  readonly b: SansIoNode;
  private readonly random: SeededRandom;
  private readonly queue = new DeliveryQueue();
  private readonly ab: Direction;
  private readonly ba: Direction;
  private order = 0;
  /** Optional tap on every packet entering the link (before loss); returning false drops it. */
  onSend: ((from: 'a' | 'b', bytes: Uint8Array) => boolean | undefined) | undefined;

  constructor(
    a: SansIoNode,
    b: SansIoNode,
    options: { seed: number; ab?: LinkConditions; ba?: LinkConditions; clock?: FakeClock },
  ) {
    this.a = a;
    this.b = b;
    this.clock = options.clock ?? new FakeClock();
    this.random = seededRandom(options.seed);
    this.ab = new Direction(b, options.ab ?? {});
    this.ba = new Direction(a, options.ba ?? options.ab ?? {});
  }

  get now(): number {
    return this.clock.now();
  }

  /** Changes a direction's conditions from now on (a link that goes down, say). */
  setConditions(direction: 'ab' | 'ba', conditions: LinkConditions): void {
    (direction === 'ab' ? this.ab : this.ba).conditions = conditions;
  }

  stats(direction: 'ab' | 'ba'): LinkStats {
    return direction === 'ab' ? this.ab.stats : this.ba.stats;
  }

  /** Injects bytes as if they arrived from the link, now. */
  inject(to: 'a' | 'b', bytes: Uint8Array): void {
    (to === 'a' ? this.a : this.b).receive(bytes, this.now);
  }

  /** Drains both nodes' output onto the link. */
  flush(): void {
    for (let round = 0; round < 1_000_000; round++) {
      const fromA = this.a.poll(this.now);
      const fromB = this.b.poll(this.now);
      for (const t of fromA) this.transmit('a', this.ab, t.bytes);
      for (const t of fromB) this.transmit('b', this.ba, t.bytes);
      if (fromA.length === 0 && fromB.length === 0) return;
    }
  }

  /**
   * Runs until `done()` holds (checked after every event) or the simulated time passes `limit` ms
   * from now. Returns whether `done()` held.
   */
  runUntil(done: () => boolean, limit = 600_000): boolean {
    const end = this.now + limit;
    for (;;) {
      this.flush();
      if (done()) return true;
      // done() may have written or read: what that produced goes out before time moves.
      this.flush();
      const next = this.nextEventTime();
      if (next === undefined || next > end) return done();
      this.clock.advanceTo(next);
      this.fire();
    }
  }

  /** Runs for `ms` of simulated time. */
  runFor(ms: number): void {
    const end = this.now + ms;
    this.runUntil(() => false, ms);
    this.clock.advanceTo(end);
    this.fire();
    this.flush();
  }

  private nextEventTime(): number | undefined {
    let next = this.queue.peek()?.time;
    for (const node of [this.a, this.b]) {
      const t = node.nextTimeout();
      if (t !== undefined && (next === undefined || t < next)) next = t;
    }
    return next;
  }

  private fire(): void {
    const now = this.now;
    for (let d = this.queue.peek(); d !== undefined && d.time <= now; d = this.queue.peek()) {
      this.queue.pop();
      (d.to === this.a ? this.ba : this.ab).stats.delivered++;
      d.to.receive(d.bytes, now);
    }
    for (const node of [this.a, this.b]) {
      const t = node.nextTimeout();
      if (t !== undefined && t <= now) node.onTimeout(now);
    }
  }

  private transmit(from: 'a' | 'b', direction: Direction, bytes: Uint8Array): void {
    const c = direction.conditions;
    const stats = direction.stats;
    stats.sent++;
    stats.bytes += bytes.length;
    if (this.onSend?.(from, bytes) === false) {
      stats.dropped++;
      return;
    }
    if (c.loss !== undefined && this.random.next() < c.loss) {
      stats.dropped++;
      return;
    }
    const now = this.now;
    let departure = now;
    if (c.bandwidth !== undefined && c.bandwidth > 0) {
      const start = Math.max(now, direction.busyUntil);
      if ((start - now) * c.bandwidth > (c.queueLimit ?? 256 * 1024)) {
        stats.queueDrops++;
        return;
      }
      departure = start + bytes.length / c.bandwidth;
      direction.busyUntil = departure;
    }
    const copies = c.duplicate !== undefined && this.random.next() < c.duplicate ? 2 : 1;
    if (copies === 2) stats.duplicated++;
    for (let i = 0; i < copies; i++) {
      let time = departure + (c.delay ?? 0) + (c.jitter === undefined ? 0 : this.random.next() * c.jitter);
      if (c.reorder !== undefined && this.random.next() < c.reorder) {
        stats.reordered++;
        time += this.random.next() * (c.reorderDelay ?? 2 * ((c.delay ?? 1) + 1));
      }
      // Copies so that a node that keeps views of a received buffer never sees it change.
      this.queue.push({
        time,
        order: this.order++,
        to: direction.to,
        bytes: i === 0 ? bytes : bytes.slice(),
      });
    }
  }
}
