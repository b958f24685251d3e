import { performance } from 'node:perf_hooks';
import type { TunnelDirectory, TunnelLogLevel } from './types.js';

/** Registry keys are cached this long (the key exchange re-fetches once on a mismatch anyway). */
const KEY_CACHE_MS = 5 * 60_000;
const NEGATIVE_KEY_CACHE_MS = 10_000;
const KEY_CACHE_LIMIT = 4096;

/** The registry's Ed25519 keys of peers, cached (bounded, unknown nodes briefly) with one fetch in flight per node. */
export class KeyCache {
  private readonly cache = new Map<number, { key: Uint8Array | undefined; at: number }>();
  private readonly fetches = new Map<number, Promise<Uint8Array | undefined>>();

  constructor(
    private readonly directory: TunnelDirectory,
    private readonly log: (level: TunnelLogLevel, message: string, fields?: Record<string, unknown>) => void,
  ) {}

  async get(nodeId: number, refresh = false): Promise<Uint8Array | undefined> {
    const cached = this.cache.get(nodeId);
    const ttl = cached?.key === undefined ? NEGATIVE_KEY_CACHE_MS : KEY_CACHE_MS;
    if (!refresh && cached !== undefined && performance.now() - cached.at < ttl) return cached.key;
    const running = this.fetches.get(nodeId);
    if (running !== undefined) return running;
    const fetch = this.directory.publicKey(nodeId).then(
      (key) => {
        this.fetches.delete(nodeId);
        // Unknown nodes are remembered briefly too, so a flood naming random nodes costs one lookup each.
        this.cache.set(nodeId, { key, at: performance.now() });
        if (this.cache.size > KEY_CACHE_LIMIT) {
          const oldest = this.cache.keys().next().value;
          if (oldest !== undefined) this.cache.delete(oldest);
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
  }
}
