export {
  DEFAULT_TUNNEL_CAPABILITIES,
  type PeerCapabilities,
  peerCapabilities,
  UNKNOWN_CAPABILITIES,
} from './capabilities.js';
export { TunnelErrorCode, tunnelError } from './errors.js';
export { lanCandidates } from './lan.js';
export { PunchBudget, type PunchBudgetCounters, type PunchBudgetOptions } from './punch-budget.js';
export { DEFAULT_REKEY_BUDGET, type RekeyBudget, SessionCrypto, type TunnelKeys } from './session-crypto.js';
export { type TunnelBindOptions, TunnelManager } from './tunnel-manager.js';
export type {
  KeyLookupCause,
  PeerInfo,
  PeerPath,
  TlsRelayOptions,
  TunnelDirectory,
  TunnelEvent,
  TunnelLogLevel,
  TunnelManagerOptions,
} from './types.js';
