/** A tunnel event, as the daemon's onEvent sees it. */
export interface TunnelEventLike {
  readonly type: string;
  readonly node_id?: unknown;
}

export interface PeerSettingOptions<T> {
  /** What the setting should be for a peer now (from what the tunnel knows of it). */
  readonly decide: (node: number) => T;
  /** Tells the transport of a change (only changes are told). */
  readonly apply: (node: number, value: T) => void;
  /** The value every peer has until decided otherwise, and again once forgotten. */
  readonly off: T;
  /** Tunnel events about one peer (`node_id`) after which its setting may differ. */
  readonly events: ReadonlySet<string>;
  /** Tunnel events about every peer at once (each peer with a setting is decided again). */
  readonly globalEvents?: ReadonlySet<string>;
}

/**
 * A per-peer transport setting driven by the tunnel: decided when a peer's keys, capabilities or
 * path change, put back to `off` when the peer is forgotten. The shared mechanism of the daemon's
 * path-MTU and checksum policies; the transport hears only of changes.
 */
export class PeerSetting<T> {
  readonly #options: PeerSettingOptions<T>;
  /** Peers whose setting is not `off`, with it. */
  readonly #current = new Map<number, T>();

  constructor(options: PeerSettingOptions<T>) {
    this.#options = options;
  }

  /** Decides a peer's setting again; tells the transport when it changed. */
  update(node: number): void {
    const { decide, apply, off } = this.#options;
    const value = decide(node);
    if ((this.#current.has(node) ? this.#current.get(node) : off) === value) return;
    if (value === off) this.#current.delete(node);
    else this.#current.set(node, value);
    apply(node, value);
  }

  /** A tunnel event (the daemon's onEvent): the peers it may concern are decided again. */
  onTunnelEvent(event: TunnelEventLike): void {
    if (this.#options.globalEvents?.has(event.type) === true) {
      for (const node of [...this.#current.keys()]) this.update(node);
      return;
    }
    if (!this.#options.events.has(event.type) || typeof event.node_id !== 'number') return;
    this.update(event.node_id);
  }

  /** The peer is gone (forgotten, trust revoked): back to `off`. */
  forget(node: number): void {
    if (!this.#current.delete(node)) return;
    this.#options.apply(node, this.#options.off);
  }

  /** Peers whose setting is not `off` now, with it (for tests and `pilotctl info`). */
  get current(): ReadonlyMap<number, T> {
    return this.#current;
  }
}
