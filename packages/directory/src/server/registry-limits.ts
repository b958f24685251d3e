import { BirthdayIntents } from './birthday-intents.js';
import { KeyedBuckets } from './keyed-buckets.js';
import type { ResolvedRegistryOptions } from './registry-options.js';

/** How often each registry budget refused a request since the start (for /healthz and logs). */
export type RegistryLimitCounters = {
  /** create_network over a node's or a source IP's creation budget. */
  networkCreateLimited: number;
  /** create_network or join_network by a node already in maxNetworksPerNode networks. */
  networksPerNodeLimited: number;
  /** respond_handshake to a node whose response inbox is full. */
  responseInboxFull: number;
  /** request_handshake to a node whose request inbox is full. */
  requestInboxFull: number;
  /** birthday intents refused: the node already held its live intents (registryOptions.birthdayIntentsPerNode). */
  birthdayIntentsLimited: number;
};

/**
 * The registry's in-memory budgets on what one node or one source IP may make it keep: networks
 * created (each takes one of the 65,535 network IDs for good), memberships, inbox entries.
 */
export class RegistryLimits {
  readonly counters: RegistryLimitCounters = {
    networkCreateLimited: 0,
    networksPerNodeLimited: 0,
    responseInboxFull: 0,
    requestInboxFull: 0,
    birthdayIntentsLimited: 0,
  };
  /** Who asked for birthday probing with whom (the `birthday` extension), in memory. */
  readonly birthday: BirthdayIntents;
  readonly #perNode: KeyedBuckets<number>;
  readonly #perIp: KeyedBuckets<string>;

  constructor(options: ResolvedRegistryOptions) {
    const perSecond = 1000 / options.networkCreateEveryMs;
    this.#perNode = new KeyedBuckets({ perSecond, burst: options.networkCreateBurstPerNode });
    this.#perIp = new KeyedBuckets({ perSecond, burst: options.networkCreateBurstPerIp });
    this.birthday = new BirthdayIntents({
      ttlMs: options.birthdayIntentTtlMs,
      perNode: options.birthdayIntentsPerNode,
      maxEntries: 100_000,
    });
  }

  /** Records a birthday intent; false (and counted) when the node holds too many already. */
  askBirthday(from: number, to: number, ips: readonly string[], now: number): boolean {
    const ok = this.birthday.ask(from, to, ips, now);
    if (!ok) this.counters.birthdayIntentsLimited++;
    return ok;
  }

  /** Takes one network creation from the node's and the source IP's budgets; false when either is spent. */
  takeNetworkCreation(nodeId: number, ip: string | undefined, now: number): boolean {
    const ok = this.#perNode.take(nodeId, now) && (ip === undefined || this.#perIp.take(ip, now));
    if (!ok) this.counters.networkCreateLimited++;
    return ok;
  }

  /**
   * Whether the node's and the IP's creation budgets have a token, without taking it (counted as a
   * refusal when not): checked before the signature, so that a flood over the budget costs no
   * Ed25519 verification, yet only a verified request spends the node's budget.
   */
  canCreateNetwork(nodeId: number, ip: string | undefined, now: number): boolean {
    const ok = this.#perNode.has(nodeId, now) && (ip === undefined || this.#perIp.has(ip, now));
    if (!ok) this.counters.networkCreateLimited++;
    return ok;
  }

  /** Forgets budgets that are full again. */
  prune(now: number): void {
    this.#perNode.prune(now);
    this.#perIp.prune(now);
    this.birthday.prune(now);
  }
}
