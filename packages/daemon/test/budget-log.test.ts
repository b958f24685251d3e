import { afterEach, describe, expect, it, vi } from 'vitest';
import { startBudgetLog } from '../src/budget-log.js';
import type { Logger } from '../src/logger.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('startBudgetLog', () => {
  it('writes one line per interval naming only the counters that grew, none when nothing did', () => {
    vi.useFakeTimers();
    const lines: Array<[string, Record<string, unknown> | undefined]> = [];
    const log = {
      warn: (message: string, fields?: Record<string, unknown>) => lines.push([message, fields]),
    } as unknown as Logger;
    const counters = { a: 0, b: 0 };
    const stop = startBudgetLog(log, 1000, () => counters);
    counters.a += 5000;
    counters.a += 5000;
    vi.advanceTimersByTime(1000);
    vi.advanceTimersByTime(1000);
    counters.b += 1;
    vi.advanceTimersByTime(1000);
    stop();
    counters.a += 1;
    vi.advanceTimersByTime(5000);
    expect(lines).toEqual([
      ['budget hit', { interval_ms: 1000, a: 10_000 }],
      ['budget hit', { interval_ms: 1000, b: 1 }],
    ]);
  });
});
