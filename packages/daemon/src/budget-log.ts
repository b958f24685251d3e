import type { Logger } from './logger.js';

/**
 * "Log once per interval" for budgets: every interval the refusal counters are read, and if any
 * grew, one warn line names the ones that did and by how much. A flood of a million drops is one
 * line per interval, and the hot paths only increment counters. Returns the stop function.
 */
export function startBudgetLog(
  log: Logger,
  intervalMs: number,
  counters: () => Readonly<Record<string, number>>,
): () => void {
  let last = { ...counters() };
  const timer = setInterval(() => {
    const now = counters();
    const grew: Record<string, number> = {};
    let any = false;
    for (const [name, value] of Object.entries(now)) {
      const delta = value - (last[name] ?? 0);
      if (delta > 0) {
        grew[name] = delta;
        any = true;
      }
    }
    last = { ...now };
    if (any) log.warn('budget hit', { interval_ms: intervalMs, ...grew });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
