import type { DaemonContext } from './daemon-context.js';

/** What the registry's resolve says of a node: its observed endpoint and LAN addresses, as text. */
export interface Resolved {
  realAddr: string | null;
  lanAddrs: string[];
}

/**
 * The registry's resolve, shared for a moment between the daemon's privacy check (dialer.ts) and the
 * tunnel's directory, which both ask right after each other when a tunnel is set up.
 */
export class ResolveCache {
  readonly #ctx: DaemonContext;
  readonly #resolved = new Map<number, { at: number; promise: Promise<Resolved> }>();

  constructor(ctx: DaemonContext) {
    this.#ctx = ctx;
  }

  resolve(node: number): Promise<Resolved> {
    const cached = this.#resolved.get(node);
    if (cached !== undefined && Date.now() - cached.at < 3000) return cached.promise;
    const session = this.#ctx.requireSession();
    const promise = session.call((client) => client.resolve(session.signer, this.#ctx.nodeId, node));
    this.#resolved.set(node, { at: Date.now(), promise });
    if (this.#resolved.size > 1024) this.#resolved.delete(this.#resolved.keys().next().value as number);
    promise.catch(() => this.#resolved.delete(node));
    return promise;
  }
}
