import type { Logger } from './logger.js';

/**
 * "Log once per interval" for budgets: every interval the counters are read, and if any grew, one
 * warn line names the ones that did and by how much. A flood of a million drops is one line, not a
 * million, and the hot paths only increment counters.
 */
export function startBudgetLog(
  logger: Logger,
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
    if (any) logger.log('warn', 'budget hit', { intervalMs, ...grew });
  }, intervalMs);
  return () => clearInterval(timer);
}
