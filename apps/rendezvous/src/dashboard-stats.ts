import type { BeaconStatus } from './beacon.js';
import type { RendezvousEvent, RendezvousObserver } from './observer.js';
import type { OpenedStore } from './store.js';

export type DashboardNode = {
  readonly nodeId: number;
  readonly hostname: string | null;
  readonly public: boolean;
  readonly tags: string[];
  readonly lastSeen: number;
  readonly version: string | null;
  /** `public` when the announced host is the address the registry saw, `translated` when not. */
  readonly mapping: 'public' | 'translated' | 'unknown';
};

/** One snapshot of what the dashboard shows; the page renders it, the event stream pushes it. */
export type DashboardStats = {
  readonly at: number;
  readonly store: 'sqlite' | 'postgres';
  readonly online: number;
  readonly history: readonly (readonly [number, number])[];
  readonly mappings: Readonly<Record<string, number>>;
  readonly tags: readonly { readonly tag: string; readonly nodes: number }[];
  readonly networks: readonly {
    readonly name: string;
    readonly members: number;
    readonly joinRule: string;
  }[];
  readonly relay: { readonly packets: number; readonly bytes: number; readonly punches: number };
  readonly requests: number;
  readonly nodes: readonly DashboardNode[];
  readonly events: readonly RendezvousEvent[];
};

const HISTORY_POINTS = 360;
const NODE_ROWS = 50;

function hostOf(addr: unknown): string | undefined {
  if (typeof addr !== 'string' || addr === '') return undefined;
  const colon = addr.lastIndexOf(':');
  const host = colon < 0 ? addr : addr.slice(0, colon);
  return host.replace(/^\[|\]$/g, '');
}

function strings(text: unknown): string[] {
  try {
    const value: unknown = JSON.parse(String(text));
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * The dashboard's figures, read from the store (the same SQL works on SQLite and PostgreSQL: `live`
 * is 0/1 in one and a boolean in the other, and both accept `WHERE live`) and from the observer.
 * Nodes online over time are sampled every `sampleMs` by a timer this object owns (`close()`).
 */
export class DashboardSampler {
  readonly #store: OpenedStore;
  readonly #observer: RendezvousObserver;
  readonly #beacon: () => BeaconStatus | undefined;
  readonly #history: [number, number][] = [];
  readonly #timer: NodeJS.Timeout;

  constructor(
    store: OpenedStore,
    observer: RendezvousObserver,
    beacon: () => BeaconStatus | undefined,
    sampleMs = 10_000,
  ) {
    this.#store = store;
    this.#observer = observer;
    this.#beacon = beacon;
    this.#timer = setInterval(() => this.sample(), sampleMs);
    this.#timer.unref();
    this.sample();
  }

  /** Records the current online count in the history; returns it. */
  sample(): number {
    const online = this.#store.liveNodes();
    const now = Date.now();
    const last = this.#history.at(-1);
    if (last !== undefined && now - last[0] < 500) last[1] = online;
    else this.#history.push([now, online]);
    if (this.#history.length > HISTORY_POINTS) this.#history.splice(0, this.#history.length - HISTORY_POINTS);
    return online;
  }

  snapshot(): DashboardStats {
    const online = this.sample();
    const rows = this.#store.select(
      `SELECT node_id, hostname, public, tags, last_seen, version, listen_addr, observed_addr
       FROM nodes WHERE live ORDER BY last_seen DESC LIMIT ${NODE_ROWS}`,
    );
    const mappingRows = this.#store.select(
      'SELECT listen_addr, observed_addr FROM nodes WHERE live LIMIT 100000',
    );
    const mappings: Record<string, number> = { public: 0, translated: 0, unknown: 0 };
    const mappingOf = (listen: unknown, observed: unknown): DashboardNode['mapping'] => {
      const a = hostOf(listen);
      const b = hostOf(observed);
      if (a === undefined || a === '' || a === '0.0.0.0' || b === undefined) return 'unknown';
      return a === b ? 'public' : 'translated';
    };
    for (const row of mappingRows) {
      const kind = mappingOf(row.listen_addr, row.observed_addr);
      mappings[kind] = (mappings[kind] ?? 0) + 1;
    }
    const tags = this.#store
      .select('SELECT tag, COUNT(*) AS n FROM node_tags GROUP BY tag ORDER BY n DESC, tag LIMIT 10')
      .map((row) => ({ tag: String(row.tag), nodes: Number(row.n) }));
    const networks = this.#store.store
      .listNetworks()
      .slice(0, 20)
      .map((network) => ({ name: network.name, members: network.members, joinRule: network.joinRule }));
    const stats = this.#beacon()?.stats;
    let requests = 0;
    for (const sample of this.#observer.requests.samples()) requests += sample.value;
    return {
      at: Date.now(),
      store: this.#store.kind,
      online,
      history: this.#history.map(([t, n]) => [t, n] as const),
      mappings,
      tags,
      networks,
      relay: {
        packets: (stats?.relayDelivered ?? 0) + (stats?.relayForwarded ?? 0),
        bytes: stats?.relayBytes ?? 0,
        punches: stats?.punchCommands ?? 0,
      },
      requests,
      nodes: rows.map((row) => ({
        nodeId: Number(row.node_id),
        hostname: typeof row.hostname === 'string' ? row.hostname : null,
        public: row.public === true || row.public === 1,
        tags: strings(row.tags),
        lastSeen: Number(row.last_seen),
        version: typeof row.version === 'string' ? row.version : null,
        mapping: mappingOf(row.listen_addr, row.observed_addr),
      })),
      events: this.#observer.events.slice(-30).reverse(),
    };
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
