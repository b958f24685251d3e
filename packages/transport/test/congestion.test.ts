import { seededRandom } from '@pilot/testkit';
import { describe, expect, it } from 'vitest';
import { Bbr, BbrState, type CongestionControllerFactory, createCubic, createNewReno } from '../src/index.js';
import { Pair, transfer } from './harness.js';

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
