import type { DirectoryServerOptions, RegistryOptions } from '@pilot/directory/server';
import type { BeaconOptions } from '@pilot/nat';

/**
 * Every resource a stranger can make the rendezvous spend, with its budget: one place, one flag
 * each (`--budget-<name> N`, or the same key in the --config file). When a budget is hit the
 * request or datagram is dropped (or refused with an error reply), a counter in GET /healthz grows,
 * one log line per interval says which counters grew, and everyone else is still served.
 * Rates are per second with a burst of twice the rate unless the entry says otherwise.
 */
type BudgetNameList =
  | 'beacon-source-rate'
  | 'beacon-global-rate'
  | 'beacon-excess-bytes'
  | 'beacon-punch-target-rate'
  | 'beacon-punch-requester-rate'
  | 'beacon-relay-node-rate'
  | 'beacon-relay-node-bytes'
  | 'beacon-relay-ip-rate'
  | 'beacon-relay-ip-bytes'
  | 'beacon-relay-global-rate'
  | 'beacon-relay-global-bytes'
  | 'beacon-proof-check-rate'
  | 'beacon-unproven-move-ms'
  | 'beacon-max-nodes'
  | 'registry-max-connections'
  | 'registry-max-connections-per-ip'
  | 'registry-frame-timeout-ms'
  | 'registry-max-buffered-bytes'
  | 'registry-idle-timeout-ms'
  | 'registry-connection-rate'
  | 'registry-ip-rate'
  | 'registry-register-rate'
  | 'registry-register-burst'
  | 'registry-register-hangup-after'
  | 'registry-accept-rate'
  | 'registry-connect-rate-per-ip'
  | 'registry-max-networks-per-node'
  | 'registry-network-creates-per-node'
  | 'registry-network-creates-per-ip'
  | 'registry-max-handshake-inbox'
  | 'registry-max-response-inbox'
  | 'registry-max-invite-inbox'
  | 'registry-max-nodes-per-owner'
  | 'wss-max-connections'
  | 'wss-max-connections-per-ip'
  | 'wss-max-queued-bytes'
  | 'log-interval-ms';

type BudgetSpec = { readonly default: number; readonly help: string };

export const RENDEZVOUS_BUDGETS: Readonly<Record<BudgetNameList, BudgetSpec>> = {
  // ---- beacon (UDP): every source is unverified ----
  'beacon-source-rate': { default: 20, help: 'beacon datagrams (not relay) per source IP per second' },
  'beacon-global-rate': { default: 20_000, help: 'beacon datagrams (not relay) per second overall' },
  'beacon-excess-bytes': {
    default: 16_384,
    help: 'bytes/s the compatible amplification policy may send beyond what was received',
  },
  'beacon-punch-target-rate': { default: 2, help: 'punch requests acted on per target node per second' },
  'beacon-punch-requester-rate': {
    default: 2,
    help: 'punch requests acted on per requester node per second',
  },
  'beacon-relay-node-rate': { default: 2000, help: 'relayed datagrams per sending node per second' },
  'beacon-relay-node-bytes': { default: 1 << 20, help: 'relayed bytes per sending node per second' },
  'beacon-relay-ip-rate': {
    default: 4000,
    help: 'relayed datagrams per source IP (peer beacons too) per second',
  },
  'beacon-relay-ip-bytes': {
    default: 4 << 20,
    help: 'relayed bytes per source IP (peer beacons too) per second',
  },
  'beacon-relay-global-rate': { default: 50_000, help: 'relayed datagrams per second overall' },
  'beacon-relay-global-bytes': { default: 64 << 20, help: 'relayed bytes per second overall' },
  'beacon-proof-check-rate': { default: 2000, help: 'discover proofs (Ed25519 checks) per second' },
  'beacon-unproven-move-ms': {
    default: 90_000,
    help: 'silence after which an unproven discover may move a node that never proved its identity',
  },
  'beacon-max-nodes': { default: 100_000, help: 'nodes the beacon records' },
  // ---- registry (TCP) ----
  'registry-max-connections': { default: 10_000, help: 'registry connections overall' },
  'registry-max-connections-per-ip': { default: 64, help: 'registry connections per source IP' },
  'registry-frame-timeout-ms': { default: 10_000, help: 'a request frame must arrive whole within this' },
  'registry-max-buffered-bytes': {
    default: 64 << 20,
    help: 'bytes of partial frames held over all connections',
  },
  'registry-idle-timeout-ms': { default: 300_000, help: 'a silent registry connection is closed after this' },
  'registry-connection-rate': { default: 100, help: 'requests per connection per second' },
  'registry-ip-rate': { default: 1000, help: 'requests per source IP per second' },
  'registry-register-rate': { default: 10, help: 'register requests per source IP per second' },
  'registry-register-burst': { default: 1000, help: 'register requests one source IP may send at once' },
  'registry-register-hangup-after': {
    default: 16,
    help: 'a connection refused this many registrations is closed (a flood then costs reconnects)',
  },
  'registry-accept-rate': {
    default: 1000,
    help: 'new registry connections per second overall (burst 2x); over it, or with partial frames near their cap, new connections are closed unread',
  },
  'registry-connect-rate-per-ip': {
    default: 20,
    help: 'new registry connections per source IP per second (burst: the per-IP connection cap), checked before TLS',
  },
  'registry-max-networks-per-node': { default: 64, help: 'networks one node may belong to' },
  'registry-network-creates-per-node': {
    default: 10,
    help: 'networks one node may create at once, then 10 an hour',
  },
  'registry-network-creates-per-ip': {
    default: 20,
    help: 'networks one source IP may create at once, then 10 an hour',
  },
  'registry-max-handshake-inbox': { default: 100, help: 'handshake requests waiting for one node' },
  'registry-max-response-inbox': { default: 100, help: 'handshake responses waiting for one node' },
  'registry-max-invite-inbox': { default: 100, help: 'invites waiting for one node' },
  'registry-max-nodes-per-owner': { default: 100, help: 'live nodes of one owner' },
  // ---- TLS relay (--wss-addr): relayed bytes and frames count against the beacon-relay-* budgets ----
  'wss-max-connections': { default: 10_000, help: 'TLS relay connections overall (TLS handshakes included)' },
  'wss-max-connections-per-ip': { default: 16, help: 'TLS relay connections per source IP' },
  'wss-max-queued-bytes': {
    default: 1 << 20,
    help: 'bytes queued to one TLS relay node before frames to it are dropped',
  },
  // ---- reporting ----
  'log-interval-ms': { default: 10_000, help: 'at most one "budget hit" log line per this interval' },
};

export type BudgetName = BudgetNameList;
export type RendezvousBudgets = { readonly [K in BudgetName]: number };

export const BUDGET_NAMES: readonly BudgetName[] = Object.keys(RENDEZVOUS_BUDGETS) as BudgetName[];

export function defaultBudgets(): RendezvousBudgets {
  return Object.fromEntries(
    BUDGET_NAMES.map((name) => [name, RENDEZVOUS_BUDGETS[name].default]),
  ) as unknown as RendezvousBudgets;
}

const rate = (perSecond: number): { perSecond: number; burst: number } => ({
  perSecond,
  burst: 2 * perSecond,
});

/** The beacon's options for these budgets. */
export function beaconBudgetOptions(b: RendezvousBudgets): Partial<BeaconOptions> {
  return {
    sourceRate: rate(b['beacon-source-rate']),
    globalRate: rate(b['beacon-global-rate']),
    excessBytesPerSecond: b['beacon-excess-bytes'],
    punchTargetRate: rate(b['beacon-punch-target-rate']),
    punchRequesterRate: rate(b['beacon-punch-requester-rate']),
    relayPacketRate: rate(b['beacon-relay-node-rate']),
    relayByteRate: rate(b['beacon-relay-node-bytes']),
    relaySourcePacketRate: rate(b['beacon-relay-ip-rate']),
    relaySourceByteRate: rate(b['beacon-relay-ip-bytes']),
    relayGlobalPacketRate: rate(b['beacon-relay-global-rate']),
    relayGlobalByteRate: rate(b['beacon-relay-global-bytes']),
    proofCheckRate: rate(b['beacon-proof-check-rate']),
    unprovenMoveAfterMs: b['beacon-unproven-move-ms'],
    maxNodes: b['beacon-max-nodes'],
  };
}

/** The TLS relay's options for these budgets. */
export function tlsRelayBudgetOptions(b: RendezvousBudgets): {
  maxConnections: number;
  maxConnectionsPerIp: number;
  maxQueuedBytes: number;
} {
  return {
    maxConnections: b['wss-max-connections'],
    maxConnectionsPerIp: b['wss-max-connections-per-ip'],
    maxQueuedBytes: b['wss-max-queued-bytes'],
  };
}

/** The registry server's options for these budgets. */
export function serverBudgetOptions(b: RendezvousBudgets): Partial<DirectoryServerOptions> {
  return {
    maxConnections: b['registry-max-connections'],
    maxConnectionsPerSource: b['registry-max-connections-per-ip'],
    frameTimeoutMs: b['registry-frame-timeout-ms'],
    maxBufferedBytes: b['registry-max-buffered-bytes'],
    idleTimeoutMs: b['registry-idle-timeout-ms'],
    connectionRate: rate(b['registry-connection-rate']),
    sourceRate: rate(b['registry-ip-rate']),
    registerRate: { perSecond: b['registry-register-rate'], burst: b['registry-register-burst'] },
    registerHangupAfter: b['registry-register-hangup-after'],
    acceptRate: rate(b['registry-accept-rate']),
    connectRate: {
      perSecond: b['registry-connect-rate-per-ip'],
      burst: b['registry-max-connections-per-ip'],
    },
  };
}

/** The registry logic's options for these budgets. */
export function registryBudgetOptions(b: RendezvousBudgets): Partial<RegistryOptions> {
  return {
    maxNetworksPerNode: b['registry-max-networks-per-node'],
    networkCreateBurstPerNode: b['registry-network-creates-per-node'],
    networkCreateBurstPerIp: b['registry-network-creates-per-ip'],
    maxHandshakeInbox: b['registry-max-handshake-inbox'],
    maxHandshakeResponses: b['registry-max-response-inbox'],
    maxInviteInbox: b['registry-max-invite-inbox'],
    maxNodesPerOwner: b['registry-max-nodes-per-owner'],
  };
}
