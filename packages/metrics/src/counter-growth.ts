/**
 * Reads a set of counters every interval and reports the ones that grew, with how much: the "log
 * once per interval" of the budgets (daemon and rendezvous). A flood of a million drops becomes one
 * report per interval while the hot paths only increment counters. The timer does not hold the
 * process open. Returns the stop function.
 */
export function watchCounterGrowth(
  intervalMs: number,
  counters: () => Readonly<Record<string, number>>,
  onGrowth: (grew: Readonly<Record<string, number>>) => void,
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
    if (any) onGrowth(grew);
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
