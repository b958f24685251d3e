import { isPilotError } from '@pilot/wire';
import { describe, expect, it } from 'vitest';
import { LookupBudget } from '../src/lookup-budget.js';
import { NegativeCache } from '../src/negative-cache.js';

describe('LookupBudget', () => {
  it('refuses at once over the rate or with too many in flight, and recovers', async () => {
    let now = 0;
    const budget = new LookupBudget({ perSecond: 10, burst: 3, maxInFlight: 2, now: () => now });
    const gates: Array<() => void> = [];
    const slow = () => new Promise<number>((resolve) => gates.push(() => resolve(1)));
    const a = budget.run(slow);
    const b = budget.run(slow);
    // Two waiting: a third is refused without running (a heartbeat never queues behind more).
    await expect(budget.run(slow)).rejects.toSatisfy((e) => isPilotError(e, 'DAEMON_BUDGET_SPENT'));
    expect(gates).toHaveLength(2);
    for (const open of gates.splice(0)) open();
    await Promise.all([a, b]);
    // One token left of the burst of 3, then the rate: 10 a second.
    await expect(budget.run(async () => 2)).resolves.toBe(2);
    await expect(budget.run(async () => 3)).rejects.toSatisfy((e) => isPilotError(e, 'DAEMON_BUDGET_SPENT'));
    now += 100;
    await expect(budget.run(async () => 4)).resolves.toBe(4);
    expect(budget.refused).toBe(2);
    expect(budget.inFlight).toBe(0);
  });
});

describe('LookupBudget per source', () => {
  it('a flooding source spends only its own tokens; another source still gets lookups', async () => {
    let now = 0;
    const budget = new LookupBudget({
      perSecond: 20,
      burst: 40,
      maxInFlight: 100,
      perSourcePerSecond: 2,
      perSourceBurst: 4,
      now: () => now,
    });
    let ran = 0;
    const lookup = async () => ++ran;
    const results = await Promise.allSettled(
      Array.from({ length: 100 }, () => budget.run(lookup, '198.51.100.7:4000')),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(4);
    expect(budget.refusals.perSource).toBe(96);
    // The global bucket lost only the 4 the flooder got.
    await expect(budget.run(lookup, '203.0.113.9:5000')).resolves.toBe(5);
    now += 500;
    await expect(budget.run(lookup, '198.51.100.7:4000')).resolves.toBe(6);
    expect(budget.refused).toBe(96);
  });
});

describe('NegativeCache', () => {
  it('answers unknown for ttl, forgets the oldest over its limit', () => {
    let now = 0;
    const cache = new NegativeCache({ ttlMs: 1000, limit: 2, now: () => now });
    cache.add(1);
    cache.add(2);
    expect(cache.has(1)).toBe(true);
    cache.add(3);
    expect(cache.has(1)).toBe(false);
    expect(cache.has(3)).toBe(true);
    now += 1000;
    expect(cache.has(3)).toBe(false);
    expect(cache.hits).toBe(2);
  });
});

describe('LookupBudget for pinned peers', () => {
  it('takes their tokens from a bucket strangers cannot spend, whatever the source', async () => {
    const budget = new LookupBudget({
      perSecond: 1,
      burst: 1,
      maxInFlight: 10,
      perSourcePerSecond: 1,
      perSourceBurst: 1,
      now: () => 0,
    });
    await expect(budget.run(async () => 1, '192.0.2.1')).resolves.toBe(1);
    await expect(budget.run(async () => 2, '192.0.2.2')).rejects.toSatisfy((e) =>
      isPilotError(e, 'DAEMON_BUDGET_SPENT'),
    );
    // Same (spent) source, global spent by strangers: a pinned peer's lookup still goes.
    await expect(budget.run(async () => 3, '192.0.2.1', true)).resolves.toBe(3);
    await expect(budget.run(async () => 4, '192.0.2.1', true)).rejects.toSatisfy((e) =>
      isPilotError(e, 'DAEMON_BUDGET_SPENT'),
    );
  });
});
