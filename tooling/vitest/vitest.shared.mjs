// One vitest configuration for every package: the same reporters (a JSON report per package
// that tooling/scripts/main.mjs sums into the closing "N passed, N failed" line), the same
// test locations, and a leak check on open handles.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const leakCheck = fileURLToPath(new URL('./leak-check.mjs', import.meta.url));

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
      setupFiles: [leakCheck, ...(test.setupFiles ?? [])],
    },
  });
}
