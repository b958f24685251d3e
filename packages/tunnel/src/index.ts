export { TunnelErrorCode, tunnelError } from './errors.js';
export { lanCandidates } from './lan.js';
export { PunchBudget, type PunchBudgetCounters, type PunchBudgetOptions } from './punch-budget.js';
export { TunnelManager } from './tunnel-manager.js';
export type {
  DualAddress,
  KeyLookupCause,
  PeerInfo,
  PeerPath,
  TlsRelayOptions,
  TunnelAddress,
  TunnelDirectory,
  TunnelEvent,
  TunnelLogLevel,
  TunnelManagerOptions,
} from './types.js';
