import { afterEach, describe, expect, it, vi } from 'vitest';
import { watchCounterGrowth } from '../src/counter-growth.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('watchCounterGrowth', () => {
  it('reports once per interval the counters that grew and by how much, nothing when none did', () => {
    vi.useFakeTimers();
    const reports: Array<Readonly<Record<string, number>>> = [];
    const counters = { a: 0, b: 0 };
    const stop = watchCounterGrowth(
      1000,
      () => counters,
      (grew) => reports.push(grew),
    );
    counters.a += 5000;
    counters.a += 5000;
    vi.advanceTimersByTime(1000);
    vi.advanceTimersByTime(1000);
    counters.b += 1;
    vi.advanceTimersByTime(1000);
    stop();
    counters.a += 1;
    vi.advanceTimersByTime(5000);
    expect(reports).toEqual([{ a: 10_000 }, { b: 1 }]);
  });
});
