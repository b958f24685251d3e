import { pilotVitestConfig } from '../../tooling/vitest/vitest.shared.mjs';

export default pilotVitestConfig();
