import { watchCounterGrowth } from '@pilot/metrics';
import type { Logger } from './logger.js';

/**
 * "Log once per interval" for budgets: one warn line per interval naming the refusal counters that
 * grew and by how much. Returns the stop function.
 */
export function startBudgetLog(
  log: Logger,
  intervalMs: number,
  counters: () => Readonly<Record<string, number>>,
): () => void {
  return watchCounterGrowth(intervalMs, counters, (grew) =>
    log.warn('budget hit', { interval_ms: intervalMs, ...grew }),
  );
}
