import { pilotVitestConfig } from '../../tooling/vitest/vitest.shared.mjs';

// One network per registry, shared by the tests of its file (the two files run side by side); the
// reference is built once, before any file, by the global setup.
export default pilotVitestConfig({
  test: {
    include: ['test/**/*.int.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
});
