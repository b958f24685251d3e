import { performance } from 'node:perf_hooks';
import type { KeyLookupCause, TunnelDirectory, TunnelLogLevel } from './types.js';

/** Registry keys are cached this long (the key exchange re-fetches once on a mismatch anyway). */
const KEY_CACHE_MS = 5 * 60_000;
const NEGATIVE_KEY_CACHE_MS = 10_000;
const KEY_CACHE_LIMIT = 4096;
/** Unknown nodes have their own table, so a flood naming random IDs never evicts real peers' keys. */
const NEGATIVE_KEY_CACHE_LIMIT = 1024;

/** The registry's Ed25519 keys of peers, cached (bounded, unknown nodes briefly) with one fetch in flight per node. */
export class KeyCache {
  private readonly cache = new Map<number, { key: Uint8Array; at: number }>();
  private readonly unknown = new Map<number, number>();
  private readonly fetches = new Map<number, Promise<Uint8Array | undefined>>();

  constructor(
    private readonly directory: TunnelDirectory,
    private readonly log: (level: TunnelLogLevel, message: string, fields?: Record<string, unknown>) => void,
  ) {}

  /** `cause`: the unauthenticated frame that made us ask (passed to the directory, which budgets it). */
  async get(nodeId: number, refresh = false, cause?: KeyLookupCause): Promise<Uint8Array | undefined> {
    const now = performance.now();
    if (!refresh) {
      const cached = this.cache.get(nodeId);
      if (cached !== undefined && now - cached.at < KEY_CACHE_MS) return cached.key;
      const unknownAt = this.unknown.get(nodeId);
      if (unknownAt !== undefined && now - unknownAt < NEGATIVE_KEY_CACHE_MS) return undefined;
    }
    const running = this.fetches.get(nodeId);
    if (running !== undefined) return running;
    const fetch = this.directory.publicKey(nodeId, cause).then(
      (key) => {
        this.fetches.delete(nodeId);
        // Unknown nodes are remembered briefly too, so a flood naming random nodes costs one lookup each.
        if (key === undefined) {
          this.cache.delete(nodeId);
          remember(this.unknown, nodeId, performance.now(), NEGATIVE_KEY_CACHE_LIMIT);
        } else {
          this.unknown.delete(nodeId);
          remember(this.cache, nodeId, { key, at: performance.now() }, KEY_CACHE_LIMIT);
        }
        return key;
      },
      (error: unknown) => {
        this.fetches.delete(nodeId);
        this.log('debug', 'registry key fetch failed', { node_id: nodeId, error: String(error) });
        return undefined;
      },
    );
    this.fetches.set(nodeId, fetch);
    return fetch;
  }

  delete(nodeId: number): void {
    this.cache.delete(nodeId);
    this.unknown.delete(nodeId);
  }
}

/** Sets `key` as the newest entry of `map`, dropping the oldest over `limit`. */
function remember<V>(map: Map<number, V>, key: number, value: V, limit: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > limit) {
    const oldest = map.keys().next().value;
    if (oldest !== undefined) map.delete(oldest);
  }
}
