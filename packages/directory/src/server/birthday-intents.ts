/**
 * Who asked the registry for birthday probing with whom (the `birthday` extension). Birthday
 * probing opens hundreds of sockets (hard side) or sends hundreds of probes (easy side), so a daemon
 * does it only towards an IP that the registry vouches for: the peer's, when it asks for a peer, or
 * one of a node that signed an intent towards it, when it finds an unsolicited punch command and
 * asks who wants to reach it. Intents live in memory for `ttlMs`; each node holds at most
 * `perNode` live intents, and the table at most `maxEntries` (the oldest goes first).
 */
export type BirthdayIntentOptions = {
  /** How long an intent counts. */
  readonly ttlMs: number;
  /** Live intents (distinct targets) one node may hold; a new target beyond it is refused. */
  readonly perNode: number;
  /** Intents the table holds at most. */
  readonly maxEntries: number;
};

export type BirthdayAsker = {
  readonly nodeId: number;
  /** The IPs the asker was seen from (its registry connection, its announced endpoint). */
  readonly ips: readonly string[];
};

type Intent = { readonly from: number; readonly to: number; readonly ips: readonly string[]; at: number };

export class BirthdayIntents {
  readonly #options: BirthdayIntentOptions;
  /** `from:to` → intent, in insertion (refresh) order: the first entry is the oldest. */
  readonly #intents = new Map<string, Intent>();

  constructor(options: BirthdayIntentOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#intents.size;
  }

  /** Records (or refreshes) `from`'s intent towards `to`; false when `from` holds too many already. */
  ask(from: number, to: number, ips: readonly string[], now: number): boolean {
    this.prune(now);
    const key = `${from}:${to}`;
    const existing = this.#intents.get(key);
    if (existing === undefined) {
      let held = 0;
      for (const intent of this.#intents.values()) if (intent.from === from) held++;
      if (held >= this.#options.perNode) return false;
    }
    this.#intents.delete(key);
    this.#intents.set(key, { from, to, ips: [...new Set(ips)].slice(0, 4), at: now });
    while (this.#intents.size > this.#options.maxEntries) {
      const oldest = this.#intents.keys().next().value;
      if (oldest === undefined) break;
      this.#intents.delete(oldest);
    }
    return true;
  }

  /** The nodes with a live intent towards `to` (at most 16, newest first). */
  askers(to: number, now: number): BirthdayAsker[] {
    this.prune(now);
    const out: BirthdayAsker[] = [];
    for (const intent of [...this.#intents.values()].reverse()) {
      if (intent.to !== to) continue;
      out.push({ nodeId: intent.from, ips: intent.ips });
      if (out.length >= 16) break;
    }
    return out;
  }

  /** Drops intents older than the TTL (they are in age order, so it stops at the first live one). */
  prune(now: number): void {
    for (const [key, intent] of this.#intents) {
      if (now - intent.at < this.#options.ttlMs) break;
      this.#intents.delete(key);
    }
  }
}
