/**
 * Seeds for property tests. A run prints its seed on failure (fast-check does), and the same seed
 * replays it: `PILOT_FC_SEED=1234 pnpm test`. `PILOT_FC_RUNS` scales the number of cases.
 */
export interface PropertyOptions {
  readonly seed: number;
  readonly numRuns: number;
}

function readInteger(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const parsed = Number(value);
  return Number.isSafeInteger(parsed) ? parsed : undefined;
}

/** Options for `fc.assert`: a fixed seed unless PILOT_FC_SEED says otherwise, and a run count. */
export function propertyOptions(defaultRuns = 1000): PropertyOptions {
  const seed = readInteger(process.env.PILOT_FC_SEED) ?? 0x5eed;
  const numRuns = readInteger(process.env.PILOT_FC_RUNS) ?? defaultRuns;
  return { seed, numRuns };
}
