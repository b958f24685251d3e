/**
 * Every resource a stranger can make the daemon spend, with its budget: one place, one flag each
 * (`--budget-<name> N`, or the same key in the --config file; pilotctl daemon start forwards it).
 * When a budget is hit the stream or packet is refused or dropped, a counter in `pilotctl info`
 * (`budgets`) grows, and everyone else is still served. The rest of the daemon's limits (SYN rate,
 * connections per port and in all, PILA replies to unverified sources) keep their own flags and
 * constants, listed here too for the one view.
 */
export type DaemonBudgetName =
  | 'lookup-rate'
  | 'lookup-burst'
  | 'lookup-in-flight'
  | 'lookup-per-source-rate'
  | 'lookup-per-source-burst'
  | 'lookup-queue'
  | 'lookup-negative-ttl-ms'
  | 'handshake-window-segments'
  | 'handshake-streams-per-peer'
  | 'handshake-max-streams'
  | 'peer-receive-bytes'
  | 'exchange-files-per-stream'
  | 'exchange-files-per-peer'
  | 'exchange-bytes-per-peer'
  | 'exchange-window-ms'
  | 'punch-attempts'
  | 'punch-unsolicited-per-ip'
  | 'punch-unsolicited-burst'
  | 'punch-unsolicited-rate'
  | 'birthday-concurrent'
  | 'birthday-per-ip-ms'
  | 'log-interval-ms';

type BudgetSpec = { readonly default: number; readonly help: string };

export const DAEMON_BUDGETS: Readonly<Record<DaemonBudgetName, BudgetSpec>> = {
  // Registry key lookups caused by PILAs from nodes we have no key for (strangers can send those).
  'lookup-rate': { default: 20, help: 'registry key lookups started per second for unknown senders' },
  'lookup-burst': { default: 40, help: 'registry key lookups that may start at once' },
  'lookup-in-flight': {
    default: 2,
    help: 'registry key lookups waiting at once (they wait behind every request of our own)',
  },
  'lookup-per-source-rate': {
    default: 2,
    help: 'registry key lookups started per second for unknown senders from one address',
  },
  'lookup-per-source-burst': { default: 8, help: 'registry key lookups that one address may start at once' },
  'lookup-queue': {
    default: 8,
    help: 'registry requests caused by strangers waiting on the registry connection (behind our own)',
  },
  'lookup-negative-ttl-ms': {
    default: 30_000,
    help: 'how long a node ID the registry does not know is answered "unknown" without a lookup',
  },
  // Port 444 takes streams from any registered node (trust requests come from strangers by design).
  'handshake-window-segments': {
    default: 16,
    help: 'receive buffer of a port-444 stream, in segments (out-of-order ones included): about 18 KiB',
  },
  'handshake-streams-per-peer': { default: 4, help: 'port-444 streams open at once from one node' },
  'handshake-max-streams': { default: 256, help: 'port-444 streams open at once in all' },
  // Memory: what one peer's connections may hold in their receive buffers, all ports together.
  'peer-receive-bytes': {
    default: 16 * 1024 ** 2,
    help: "bytes one node's connections may hold in receive buffers together (out-of-order data over it is dropped)",
  },
  // Data exchange (port 1001): what one peer can make us write to disk, across all its streams.
  'exchange-files-per-stream': { default: 16, help: 'files open at once on one data-exchange stream' },
  'exchange-files-per-peer': {
    default: 10_000,
    help: 'files one node may send us per exchange window (data exchange)',
  },
  'exchange-bytes-per-peer': {
    default: 8 * 1024 ** 3,
    help: 'bytes (files and messages) one node may send us per exchange window: its disk quota',
  },
  'exchange-window-ms': { default: 86_400_000, help: 'the window of the per-node exchange quotas' },
  // Punch commands are unauthenticated (anyone can have the beacon send one naming us). A command
  // we did not ask for gets three 4-byte PILPs (≤ 3× the 9-byte request that caused it), within
  // these rates; our own attempts (PILP + PILA for seconds) and birthday bursts are capped at once.
  'punch-attempts': { default: 8, help: 'full punch attempts (answers to our own punch requests) at once' },
  'punch-unsolicited-per-ip': {
    default: 1,
    help: 'punch commands we did not ask for answered per second per commanded IP',
  },
  'punch-unsolicited-burst': { default: 3, help: 'burst of the per-IP rate above' },
  'punch-unsolicited-rate': {
    default: 20,
    help: 'punch commands we did not ask for answered per second in all',
  },
  'birthday-concurrent': {
    default: 2,
    help: 'birthday bursts (256 sockets or probes) at once, only towards IPs the registry vouched for',
  },
  'birthday-per-ip-ms': {
    default: 15_000,
    help: 'a new birthday burst towards one IP at most this often, ms',
  },
  'log-interval-ms': { default: 10_000, help: 'at most one "budget hit" log line per this interval' },
};

/**
 * Limits that have their own flag or constant elsewhere, for the one list (README, SECURITY.md):
 * `--syn-rate-limit` (SYNs per second, 10 per source), `--max-conns-per-port` (1024),
 * `--max-conns-total`, the tunnel's 50 unsolicited PILAs per second and one per node per second
 * (reference §14), its key-lookup cache (4096 keys, 10 s negative cache), and the port-444 service's
 * 64 KiB per message.
 */
export const OTHER_DAEMON_LIMITS: readonly string[] = [
  '--syn-rate-limit',
  '--max-conns-per-port',
  '--max-conns-total',
];

export type DaemonBudgets = { readonly [K in DaemonBudgetName]: number };

export const DAEMON_BUDGET_NAMES: readonly DaemonBudgetName[] = Object.keys(
  DAEMON_BUDGETS,
) as DaemonBudgetName[];

/** The defaults overridden by what was given. */
export function resolveDaemonBudgets(given: Partial<Record<DaemonBudgetName, number>> = {}): DaemonBudgets {
  const out: Record<string, number> = {};
  for (const name of DAEMON_BUDGET_NAMES) out[name] = given[name] ?? DAEMON_BUDGETS[name].default;
  return out as DaemonBudgets;
}
