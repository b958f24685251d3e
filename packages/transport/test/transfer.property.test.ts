import { propertyOptions, seededRandom } from '@pilot/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CongestionControllerFactory, createCubic, createNewReno } from '../src/index.js';
import { B, Pair, transfer } from './harness.js';

const KiB = 1024;
const MiB = 1024 * KiB;

// Mostly small payloads, a few large ones up to 8 MiB: the suite stays fast and still covers long
// transfers (sequence wrap is covered by random ISNs across 2^32).
const size = fc.oneof(
  { weight: 14, arbitrary: fc.integer({ min: 0, max: 64 * KiB }) },
  { weight: 4, arbitrary: fc.integer({ min: 64 * KiB, max: 512 * KiB }) },
  { weight: 2, arbitrary: fc.integer({ min: 1 * MiB, max: 8 * MiB }) },
);

// Whole percentages: fc.double clusters at the ends of its range, and the middle matters here.
function percent(max: number): fc.Arbitrary<number> {
  return fc.integer({ min: 0, max }).map((p) => p / 100);
}

const link = fc.record({
  loss: percent(20),
  duplicate: percent(10),
  reorder: percent(20),
  delay: fc.integer({ min: 1, max: 60 }),
  jitter: fc.integer({ min: 0, max: 10 }),
  bandwidth: fc.option(fc.integer({ min: 500, max: 50_000 }), { nil: undefined }),
});

// The default controller (BBR) gets the full run; the loss-based ones a shorter one each.
const controllers: [string, CongestionControllerFactory | undefined, number][] = [
  ['default (BBR)', undefined, 20],
  ['New-Reno', createNewReno, 6],
  ['CUBIC', createCubic, 6],
];

describe.each(controllers)('stream over a lossy link (property), %s', (_name, congestionController, runs) => {
  it('delivers exactly the bytes sent, in order; datagrams at most once', () => {
    fc.assert(
      fc.property(size, link, fc.integer({ min: 1, max: 0x7fff_ffff }), (length, conditions, seed) => {
        const { bandwidth, ...rest } = conditions;
        const options = congestionController === undefined ? {} : { congestionController };
        const pair = new Pair({
          seed,
          link: bandwidth === undefined ? rest : { ...rest, bandwidth },
          a: options,
          b: options,
        });
        const { client, server } = pair.connect();
        const payload = seededRandom(seed).bytes(length);
        for (let i = 0; i < 20; i++) pair.a.sendDatagram(B, 7, Uint8Array.of(i, 0xd6));
        const got = transfer(pair, client, server, payload);
        expect(got.length).toBe(payload.length);
        expect(Buffer.compare(got, payload)).toBe(0);
        const seen = new Map<number, number>();
        for (const event of pair.eventsB) {
          if (event.type !== 'datagram') continue;
          expect(event.datagram.payload[1]).toBe(0xd6);
          const id = event.datagram.payload[0]!;
          seen.set(id, (seen.get(id) ?? 0) + 1);
        }
        for (const count of seen.values()) expect(count).toBe(1);
      }),
      propertyOptions(runs),
    );
  }, 120_000);
});
