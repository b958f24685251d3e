export { fromHex, toHex } from './bytes.js';
export { FakeClock } from './fake-clock.js';
export { type HostileInput, hostileBasics, hostileVariants } from './hostile.js';
export { type LinkConditions, LinkSimulation, type LinkStats, type SansIoNode } from './lossy-link.js';
export { type SeededRandom, seededRandom } from './random.js';
export { type PropertyOptions, propertyOptions } from './seed.js';
export {
  freeTcpPort,
  startTinyproxy,
  type TinyproxyOptions,
  tinyproxyReady,
  tinyproxyUnavailable,
  writeTinyproxyConfig,
} from './tinyproxy.js';
