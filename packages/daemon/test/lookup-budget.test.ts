import { isPilotError } from '@pilot/wire';
import { describe, expect, it } from 'vitest';
import { LookupBudget } from '../src/lookup-budget.js';

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
