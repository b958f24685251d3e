import type { DaemonContext } from './daemon-context.js';
import { errorMessage } from './errors.js';

/**
 * The non-backbone networks this node belongs to and their members: members may reach us
 * (reference §5.1, the trust gate admits them) and a broadcast goes to them. Refreshed every minute,
 * after join/leave, on re-registration, and when a stranger's SYN suggests someone joined.
 */
export class NetworkMembership {
  readonly #ctx: DaemonContext;
  #networks: number[] = [];
  #peers = new Set<number>();
  #refreshedAt = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(ctx: DaemonContext) {
    this.#ctx = ctx;
  }

  /** Our networks other than the backbone (0). */
  get networks(): readonly number[] {
    return this.#networks;
  }

  /** How many nodes share one of our networks (info's network_peers). */
  get peerCount(): number {
    return this.#peers.size;
  }

  /** Whether `node` shares one of our networks. */
  has(node: number): boolean {
    return this.#peers.has(node);
  }

  /** The first refresh, then one a minute until stop(). */
  async start(): Promise<void> {
    await this.refresh();
    this.#timer = setInterval(() => void this.refresh(), 60_000);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /**
   * Someone may have joined one of our networks since the last refresh: look again (the peer
   * retransmits its SYN), at most once a second.
   */
  refreshSoon(): void {
    if (this.#networks.length > 0 && Date.now() - this.#refreshedAt > 1000) {
      this.#refreshedAt = Date.now();
      void this.refresh();
    }
  }

  /** Refreshes which networks we are in and who shares them (the trust gate admits them). */
  async refresh(): Promise<void> {
    const ctx = this.#ctx;
    const session = ctx.session;
    if (session === undefined || ctx.nodeId === 0) return;
    try {
      const self = await session.call((client) => client.lookup(ctx.nodeId));
      const networks = self.networks.filter((n) => n !== 0);
      const peers = new Set<number>();
      for (const network of networks) for (const id of await this.listMembers(network)) peers.add(id);
      peers.delete(ctx.nodeId);
      this.#networks = networks;
      this.#peers = peers;
      this.#refreshedAt = Date.now();
    } catch (error) {
      ctx.log.debug('network refresh failed', { error: errorMessage(error) });
    }
  }

  /** Members of a network, private ones included (we sign as a member). */
  async listMembers(network: number): Promise<number[]> {
    const ctx = this.#ctx;
    const session = ctx.requireSession();
    const ids: number[] = [];
    let offset = 0;
    for (let page = 0; page < 50; page++) {
      const reply = await session.call((client) =>
        client.listNodesAs(session.signer, ctx.nodeId, network, offset),
      );
      const nodes = Array.isArray(reply.nodes) ? (reply.nodes as Record<string, unknown>[]) : [];
      for (const node of nodes) {
        if (typeof node.node_id !== 'number') continue;
        // An entry naming another key for a trusted peer is someone else's word: not admitted.
        if (
          typeof node.public_key === 'string' &&
          ctx.keyPins?.pinned(node.node_id) !== undefined &&
          ctx.keyPins.check(node.node_id, { publicKey: node.public_key }, 'list_nodes') !== node.public_key
        )
          continue;
        ids.push(node.node_id);
      }
      if (typeof reply.next_offset !== 'number') break;
      offset = reply.next_offset;
    }
    return ids;
  }
}
