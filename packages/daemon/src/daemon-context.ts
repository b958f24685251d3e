import { join } from 'node:path';
import type { Identity } from '@pilot/crypto';
import type { UdpTransport } from '@pilot/transport/node';
import type { TunnelManager } from '@pilot/tunnel';
import type { DaemonBudgets } from './budgets.js';
import type { ChecksumPolicy } from './checksum-policy.js';
import { ConnectionTable } from './connection-table.js';
import { Dialer } from './dialer.js';
import { DaemonErrorCode, daemonError } from './errors.js';
import type { ExchangeQuota } from './exchange-quota.js';
import type { IpcServer } from './ipc-server.js';
import type { KeyPins } from './key-pins.js';
import type { Logger } from './logger.js';
import type { LookupBudget } from './lookup-budget.js';
import type { Mailbox } from './mailbox.js';
import type { NegativeCache } from './negative-cache.js';
import { NetworkMembership } from './network-membership.js';
import type { DaemonOptions, HostAndPort } from './options.js';
import type { PathMtuPolicy } from './path-mtu-policy.js';
import { PortTable } from './port-table.js';
import type { RegistrySession } from './registry-session.js';
import { ResolveCache } from './resolve-cache.js';
import type { EventBroker } from './services/event-stream.js';
import { Lingering } from './stream-pipe.js';
import type { TrustManager } from './trust.js';
import type { TrustStore } from './trust-store.js';
import type { WebhookSender } from './webhook.js';

/** What the daemon moved for IPC clients since the start (info's app_bytes_*, dials, datagrams_*). */
export interface DaemonStats {
  bytesSent: number;
  bytesRecv: number;
  dials: number;
  dialFailures: number;
  accepted: number;
  datagramsSent: number;
  datagramsRecv: number;
}

/**
 * What the parts of a daemon share: the options, who this node is, the parts `start` builds (each
 * undefined until built, so a failed start still shuts down what exists) and one instance of each
 * part that lives as long as the daemon. The parts reach each other through it, not through imports
 * of each other's state; `daemon.ts` builds it and composes.
 */
export class DaemonContext {
  readonly options: DaemonOptions;
  readonly home: string;
  readonly socket: string;
  readonly log: Logger;
  readonly budgets: DaemonBudgets;
  readonly webhook: WebhookSender;
  readonly startedAt: number = Date.now();
  readonly identityPath: string;
  identity: Identity | undefined;

  // Who this node is (the registry's answer, and what IPC clients set since).
  nodeId = 0;
  address = '';
  hostname: string | undefined;
  isPublic: boolean;
  tags: string[] = [];
  /** The endpoint announced to the registry (`--endpoint`, or discovered through the beacon). */
  endpoint: HostAndPort | undefined;
  /** The rendezvous' second reflector port, as the registry advertised it (`reflector_port`). */
  reflectorPort: number | undefined;
  /** The rendezvous' TLS relay port, as the registry advertised it (`wss_port`). */
  wssPort: number | undefined;
  /** Where the TLS relay is (`--wss`, or the registry's host and `wss_port`), for `info`. */
  wssAddress = '';
  /** Set by close(): no new dials. */
  closing = false;

  // Built by start().
  tunnel: TunnelManager | undefined;
  transport: UdpTransport<TunnelManager> | undefined;
  /** Larger datagrams towards pilot-ts peers that negotiated them (RFC 8899 probing). */
  pathMtu: PathMtuPolicy | undefined;
  /** No packet CRC inside PILS towards pilot-ts peers that negotiated `aead-checksum-free`. */
  checksumFree: ChecksumPolicy | undefined;
  session: RegistrySession | undefined;
  keyPins: KeyPins | undefined;
  trust: TrustManager | undefined;
  trustStore: TrustStore | undefined;
  ipc: IpcServer | undefined;
  mailbox: Mailbox | undefined;
  broker: EventBroker | undefined;
  lookups: LookupBudget | undefined;
  unknownNodes: NegativeCache | undefined;
  exchangeQuota: ExchangeQuota | undefined;
  exchangeFilesRefused = 0;

  readonly stats: DaemonStats = {
    bytesSent: 0,
    bytesRecv: 0,
    dials: 0,
    dialFailures: 0,
    accepted: 0,
    datagramsSent: 0,
    datagramsRecv: 0,
  };
  readonly connections: ConnectionTable = new ConnectionTable();
  readonly ports: PortTable;
  readonly membership: NetworkMembership;
  readonly resolves: ResolveCache;
  readonly dialer: Dialer;
  readonly lingering: Lingering = new Lingering();

  constructor(options: DaemonOptions, log: Logger, budgets: DaemonBudgets, webhook: WebhookSender) {
    this.options = options;
    this.home = options.home;
    this.socket = options.socket;
    this.log = log;
    this.budgets = budgets;
    this.webhook = webhook;
    this.identityPath = options.identity ?? join(options.home, 'identity.json');
    this.hostname = options.hostname;
    this.isPublic = options.public === true;
    this.ports = new PortTable(this);
    this.membership = new NetworkMembership(this);
    this.resolves = new ResolveCache(this);
    this.dialer = new Dialer(this);
  }

  /** Emits a webhook event from this node. */
  emit(event: string, data: Record<string, unknown> = {}): void {
    this.webhook.emit(event, this.nodeId, data);
  }

  requireSession(): RegistrySession {
    if (this.session === undefined) throw daemonError(DaemonErrorCode.CLOSED, 'the daemon is not running');
    return this.session;
  }
}
