export { isPilotError, PilotError, WireErrorCode, wireError } from './errors.js';
