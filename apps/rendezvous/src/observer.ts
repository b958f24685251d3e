import { performance } from 'node:perf_hooks';
import {
  type DirectoryStore,
  type ReapResult,
  RegistryHandler,
  type RegistryOptions,
  type Reply,
  type RequestOrigin,
} from '@pilot/directory/server';
import { type Counter, type Histogram, MetricsRegistry } from '@pilot/metrics';
import type { BeaconStatus } from './beacon.js';

/** One thing the operator may want to see happen (the dashboard's "recent events"). */
export type RendezvousEvent = {
  readonly at: number;
  readonly kind: string;
  readonly nodeId?: number;
  readonly detail?: string;
};

const EVENT_LIMIT = 200;

// Request types worth an event line, and what to call them.
const EVENT_OF: Readonly<Record<string, string>> = {
  register: 'registered',
  deregister: 'deregistered',
  create_network: 'network created',
  join_network: 'joined a network',
  leave_network: 'left a network',
  respond_handshake: 'answered a handshake',
  report_trust: 'trust reported',
  revoke_trust: 'trust revoked',
  rotate_key: 'key rotated',
};

/**
 * What the rendezvous observes of itself: the registry's requests (counted and timed by wrapping
 * the handler), the beacon's counters, the store's figures, and a short log of events. `/metrics`
 * and the dashboard read it; it keeps nothing personal beyond node ids the directory already lists.
 */
export class RendezvousObserver {
  readonly metrics: MetricsRegistry = new MetricsRegistry();
  readonly events: RendezvousEvent[] = [];
  readonly #listeners = new Set<(event: RendezvousEvent) => void>();
  readonly requests: Counter;
  readonly errors: Counter;
  readonly duration: Histogram;
  readonly registrations: Counter;
  readonly expired: Counter;

  constructor() {
    const m = this.metrics;
    this.requests = m.counter(
      'pilot_registry_requests_total',
      'Registry requests answered, by type and result.',
    );
    this.errors = m.counter('pilot_registry_errors_total', 'Registry error replies, by code.');
    this.registrations = m.counter('pilot_registry_registrations_total', 'Successful registrations.');
    this.expired = m.counter(
      'pilot_registry_expired_nodes_total',
      'Nodes expired by the reaper (silent too long).',
    );
    this.duration = m.histogram(
      'pilot_registry_request_duration_seconds',
      'Time to handle a registry request, by type (lookups: the whole request; writes: until the batch is handed to the commit).',
    );
  }

  /** Adds an event and tells the live listeners (the dashboard's event stream). */
  event(kind: string, nodeId?: number, detail?: string): void {
    const event: RendezvousEvent = {
      at: Date.now(),
      kind,
      ...(nodeId === undefined ? {} : { nodeId }),
      ...(detail === undefined ? {} : { detail }),
    };
    this.events.push(event);
    if (this.events.length > EVENT_LIMIT) this.events.splice(0, this.events.length - EVENT_LIMIT);
    for (const listener of this.#listeners) listener(event);
  }

  onEvent(listener: (event: RendezvousEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Records one answered request. */
  request(request: Readonly<Record<string, unknown>>, reply: Reply, seconds: number): void {
    const type = typeof request.type === 'string' && request.type.length <= 32 ? request.type : 'unknown';
    const ok = reply.type !== 'error';
    this.requests.inc({ type, result: ok ? 'ok' : 'error' });
    this.duration.observe(seconds, { type });
    if (!ok) {
      this.errors.inc({ code: typeof reply.code === 'string' ? reply.code : 'none' });
      return;
    }
    if (type === 'register') this.registrations.inc();
    const kind = EVENT_OF[type];
    if (kind === undefined) return;
    const nodeId =
      typeof reply.node_id === 'number'
        ? reply.node_id
        : typeof request.node_id === 'number'
          ? request.node_id
          : undefined;
    const detail = type === 'register' && typeof reply.hostname === 'string' ? reply.hostname : undefined;
    // A daemon registers again at start-up (extensions, hostname): one line per node and minute.
    if (type === 'register' && nodeId !== undefined && this.#recentlyRegistered(nodeId)) return;
    this.event(kind, nodeId, detail);
  }

  #recentlyRegistered(nodeId: number): boolean {
    const since = Date.now() - 60_000;
    for (let i = this.events.length - 1; i >= 0; i--) {
      const event = this.events[i]!;
      if (event.at < since) return false;
      if (event.nodeId === nodeId && event.kind !== 'registered') return false;
      if (event.nodeId === nodeId) return true;
    }
    return false;
  }

  /** Mirrors the beacon's own counters and gauges at each scrape. */
  watchBeacon(name: 'beacon' | 'stun', status: () => BeaconStatus | undefined): void {
    const m = this.metrics;
    const prefix = `pilot_${name}`;
    const nodes = m.gauge(`${prefix}_nodes`, `Nodes the ${name} socket has an endpoint for.`);
    const relayPackets = m.counter(
      `${prefix}_relay_packets_total`,
      'Relayed frames, delivered here or forwarded to a peer beacon.',
    );
    const relayBytes = m.counter(`${prefix}_relay_bytes_total`, 'Relayed frame bytes.');
    const punch = m.counter(
      `${prefix}_punch_total`,
      'Punch coordination: requests acted on and commands sent.',
    );
    const discover = m.counter(`${prefix}_discover_total`, 'Endpoint discovery requests.');
    const stun = m.counter(`${prefix}_stun_requests_total`, 'STUN Binding requests.');
    const dropped = m.counter(
      `${prefix}_dropped_total`,
      'Datagrams dropped, by reason (budgets, rates, spoofing, unknown nodes).',
    );
    m.collect(() => {
      const current = status();
      if (current === undefined) return;
      const s = current.stats;
      nodes.set(current.nodes);
      relayPackets.mirror(s.relayDelivered, { path: 'delivered' });
      relayPackets.mirror(s.relayForwarded, { path: 'forwarded' });
      relayBytes.mirror(s.relayBytes ?? 0);
      punch.mirror(s.punchRequests, { kind: 'request' });
      punch.mirror(s.punchCommands, { kind: 'command' });
      discover.mirror(s.discover);
      stun.mirror(s.stunRequests);
      for (const [key, value] of Object.entries(s)) {
        if (!key.startsWith('dropped') || typeof value !== 'number') continue;
        const reason = key
          .slice('dropped'.length)
          .replace(/[A-Z]/g, (c, i: number) => (i === 0 ? '' : '_') + c.toLowerCase());
        dropped.mirror(value, { reason });
      }
    });
  }
}

/** The registry logic, timed and counted per request for the observer. */
export class ObservedRegistryHandler extends RegistryHandler {
  readonly #observer: RendezvousObserver;

  constructor(
    store: DirectoryStore,
    options: RegistryOptions,
    onInternalError: (error: unknown) => void,
    observer: RendezvousObserver,
  ) {
    super(store, options, onInternalError);
    this.#observer = observer;
  }

  override handle(request: Readonly<Record<string, unknown>>, origin: RequestOrigin = {}): Reply {
    const started = performance.now();
    const reply = super.handle(request, origin);
    this.#observer.request(request, reply, (performance.now() - started) / 1000);
    return reply;
  }

  override reap(): ReapResult {
    const result = super.reap();
    if (result.expiredNodes > 0) {
      this.#observer.expired.inc({}, result.expiredNodes);
      this.#observer.event('expired', undefined, `${result.expiredNodes} node(s) silent too long`);
    }
    return result;
  }
}
