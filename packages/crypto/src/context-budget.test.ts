import { toHex } from '@pilot/testkit';
import { describe, expect, it } from 'vitest';
import { BACKENDS, codeOf } from '../test/helpers.js';
import type { Aead } from './backend.js';
import { ContextBudget } from './context-budget.js';
import { createTunnelOpener } from './tunnel-opener.js';
import { createTunnelSealer } from './tunnel-sealer.js';

const key = (seed: number) => Uint8Array.from({ length: 32 }, (_, i) => (i * 13 + seed) & 0xff);
const packet = (n: number): Uint8Array => Uint8Array.from({ length: 34 + n }, (_, i) => (i * 31 + n) & 0xff);

/** An Aead that counts its releases (the budget only needs `release`). */
function counting(): Aead & { released: number } {
  const aead = {
    released: 0,
    sealInto: () => {},
    open: () => undefined,
    openInto: () => false,
    release: () => {
      aead.released++;
    },
  };
  return aead;
}

describe('ContextBudget', () => {
  it('releases the least recently used instance beyond its limit, and only that one', () => {
    const budget = new ContextBudget(2);
    const [a, b, c] = [counting(), counting(), counting()];
    budget.use(a);
    budget.use(b);
    budget.use(a); // a is now the most recent: b is the oldest
    budget.use(c);
    expect([a.released, b.released, c.released]).toEqual([0, 1, 0]);
    expect(budget.live).toBe(2);
    budget.use(b); // b comes back: a is the oldest now
    expect([a.released, b.released, c.released]).toEqual([1, 1, 0]);
    budget.forget(c);
    expect(c.released).toBe(1);
    expect(budget.live).toBe(1);
  });

  it('refuses a limit below 1', () => {
    expect(codeOf(() => new ContextBudget(0))).toBe('CRYPTO_OUT_OF_RANGE');
    expect(codeOf(() => new ContextBudget(1.5))).toBe('CRYPTO_OUT_OF_RANGE');
  });
});

describe.each(BACKENDS)('released contexts are made again on use (%s)', (backend) => {
  it('a sealer and an opener keep working across release() and budget eviction', () => {
    const budget = new ContextBudget(1);
    const tunnels = [1, 2, 3].map((node) => ({
      sealer: createTunnelSealer({ key: key(node), senderNode: node, backend, contexts: budget }),
      opener: createTunnelOpener({ key: key(node), peerNode: node, backend, contexts: budget }),
    }));
    // Three tunnels through a budget of one: every step evicts the previous tunnel's contexts.
    for (let round = 0; round < 3; round++) {
      for (const { sealer, opener } of tunnels) {
        const frame = sealer.seal(packet(round + 5));
        expect(toHex(opener.open(frame))).toBe(toHex(packet(round + 5)));
      }
    }
    expect(budget.live).toBeLessThanOrEqual(1);
    const { sealer, opener } = tunnels[0]!;
    sealer.release();
    opener.release();
    const frame = sealer.seal(packet(9));
    opener.release();
    expect(toHex(opener.openInPlace(frame))).toBe(toHex(packet(9)));
    // A forged frame still fails after a release (the context is rebuilt from the same key).
    const forged = sealer.seal(packet(3));
    forged[forged.length - 1]! ^= 1;
    opener.release();
    expect(codeOf(() => opener.open(forged))).toBe('CRYPTO_BAD_TAG');
  });
});
