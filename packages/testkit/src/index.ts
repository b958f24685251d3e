export { fromHex, toHex } from './bytes.js';
export { type HostileInput, hostileBasics, hostileVariants } from './hostile.js';
export { type SeededRandom, seededRandom } from './random.js';
export { type PropertyOptions, propertyOptions } from './seed.js';
