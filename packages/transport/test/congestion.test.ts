import { seededRandom } from '@pilot/testkit';
import { describe, expect, it } from 'vitest';
import { Bbr, BbrState, type CongestionControllerFactory, createCubic, createNewReno } from '../src/index.js';
import { drain, Pair, transfer } from './harness.js';

const MiB = 1024 * 1024;

/** 50 ms RTT, 5 % loss each way, a 2 MB/s bottleneck: the impaired lab's path, on the seeded link. */
function lossyPath(factory: CongestionControllerFactory | undefined, seed: number) {
  const options = factory === undefined ? {} : { congestionController: factory };
  const pair = new Pair({
    seed,
    link: { delay: 25, loss: 0.05, bandwidth: 2000 },
    back: { delay: 25, loss: 0.05 },
    a: options,
    b: options,
  });
  const { client, server } = pair.connect();
  const payload = seededRandom(seed).bytes(2 * MiB);
  const start = pair.now;
  const got = transfer(pair, client, server, payload);
  return { ms: pair.now - start, intact: Buffer.compare(got, payload) === 0 };
}

describe('congestion control end to end (seeded lossy link, simulated time)', () => {
  it('BBR (the default) keeps the bottleneck busy under 5 % random loss; loss-based AIMD does not', () => {
    const controllers: Bbr[] = [];
    const bbr = lossyPath((mss) => {
      const cc = new Bbr(mss);
      controllers.push(cc);
      return cc;
    }, 7);
    const byDefault = lossyPath(undefined, 7);
    const newReno = lossyPath(createNewReno, 7);
    const cubic = lossyPath(createCubic, 7);
    for (const run of [bbr, byDefault, newReno, cubic]) expect(run.intact).toBe(true);
    // 2 MiB at 2 MB/s is ~1 s of serialisation; BBR stays within a few times that, AIMD takes far longer.
    expect(bbr.ms).toBe(byDefault.ms);
    expect(bbr.ms * 3).toBeLessThan(newReno.ms);
    expect(bbr.ms * 3).toBeLessThan(cubic.ms);
    // The first controller is the dialling (sending) side's.
    const [sender] = controllers;
    if (sender === undefined) throw new Error('no controller was created');
    expect(sender.window).toBeGreaterThan(4 * 1130);
    expect(sender.bandwidth).toBeGreaterThan(2000 * 0.6);
    expect(sender.bandwidth).toBeLessThan(2000 * 1.5);
    expect([BbrState.PROBE_BW, BbrState.PROBE_RTT]).toContain(sender.state);
  }, 60_000);
});

/**
 * A bulk stream over a bottleneck whose bandwidth changes: `phases` of [bytes/ms, ms] in turn, 25 ms
 * each way, `loss` each way, a 128 KiB queue. Returns, per phase, what arrived in its last second
 * (bytes/ms) and what the bottleneck's queue dropped and was offered in that second.
 */
function changingBottleneck(
  phases: readonly (readonly [number, number])[],
  loss: number,
  options: { readonly reprobeGrowth?: number } = {},
) {
  let sender: Bbr | undefined;
  const link = (bandwidth: number) => ({ delay: 25, loss, bandwidth, queueLimit: 128 * 1024 });
  const pair = new Pair({
    seed: 11,
    link: link(phases[0]![0]),
    back: { delay: 25, loss },
    a: {
      congestionController: (mss) => {
        sender ??= new Bbr(mss, options);
        return sender;
      },
    },
  });
  const { client, server } = pair.connect();
  const chunk = new Uint8Array(65_536);
  const sink: Uint8Array[] = [];
  let received = 0;
  const pump = () => {
    while (client.write(chunk) > 0);
    received += drain(server, sink);
    sink.length = 0;
  };
  const results: {
    rate: number;
    offered: number;
    queueDrops: number;
    sent: number;
    phaseQueueDrops: number;
    phaseSent: number;
    bandwidth: number;
  }[] = [];
  for (const [bandwidth, ms] of phases) {
    pair.sim.setConditions('ab', link(bandwidth));
    const start = pair.now;
    const atStart = { ...pair.sim.stats('ab') };
    pair.run(() => {
      pump();
      return pair.now - start >= ms - 1000;
    });
    const before = { received, ...pair.sim.stats('ab') };
    const last = pair.now;
    pair.run(() => {
      pump();
      return pair.now - last >= 1000;
    });
    const after = pair.sim.stats('ab');
    results.push({
      rate: (received - before.received) / (pair.now - last),
      offered: (after.bytes - before.bytes) / (pair.now - last),
      queueDrops: after.queueDrops - before.queueDrops,
      sent: after.sent - before.sent,
      phaseQueueDrops: after.queueDrops - atStart.queueDrops,
      phaseSent: after.sent - atStart.sent,
      bandwidth: sender?.bandwidth ?? 0,
    });
  }
  return results;
}

describe('BBR on a bottleneck that changes (seeded link, simulated time)', () => {
  it('finds a bottleneck that widened within a second: a probe that found bandwidth probes again at once', () => {
    // 1 → 5 MB/s (competing traffic left); BBR v1 grows its estimate by ≤ 25 % per 8 round trips.
    const phases = [
      [1000, 2000],
      [5000, 2000],
    ] as const;
    for (const loss of [0, 0.05]) {
      const [, widened] = changingBottleneck(phases, loss);
      const [, v1] = changingBottleneck(phases, loss, { reprobeGrowth: Number.POSITIVE_INFINITY });
      // The second second after the change: the default fills most of the new bottleneck.
      expect(widened!.rate).toBeGreaterThan(5000 * (loss > 0 ? 0.6 : 0.85));
      expect(widened!.rate).toBeGreaterThan(v1!.rate * 1.3);
      expect(widened!.bandwidth).toBeLessThan(5000 * 1.3);
    }
  }, 60_000);

  it('backs off when the bottleneck narrows (real congestion): the rate follows it down, queue drops stop', () => {
    // 5 → 1 MB/s with a 128 KiB queue. The bandwidth filter forgets the old rate within ~10 round
    // trips (BBR v1; re-probing changes nothing here, it needs growth): until then the queue drops
    // much of what is sent, after that the sender offers what the bottleneck carries.
    const phases = [
      [5000, 2000],
      [1000, 3000],
    ] as const;
    for (const loss of [0, 0.05]) {
      const [, narrowed] = changingBottleneck(phases, loss);
      const [, v1] = changingBottleneck(phases, loss, { reprobeGrowth: Number.POSITIVE_INFINITY });
      for (const run of [narrowed!, v1!]) {
        // The third second after the change: offered ≈ the bottleneck, the queue rarely overflows.
        expect(run.offered).toBeLessThan(1000 * 1.1);
        expect(run.offered).toBeGreaterThan(1000 * 0.8);
        expect(run.bandwidth).toBeLessThan(1000 * 1.5);
        expect(run.queueDrops).toBeLessThan(run.sent * 0.03);
      }
      // Re-probing does not make the transition worse.
      expect(narrowed!.phaseQueueDrops).toBeLessThanOrEqual(v1!.phaseQueueDrops * 1.1);
    }
  }, 60_000);
});
