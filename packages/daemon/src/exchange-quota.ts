export interface ExchangeQuotaOptions {
  /** Files one peer may send in a window. */
  readonly filesPerPeer: number;
  /** Bytes (files and messages) one peer may send in a window: what it can make us write to disk. */
  readonly bytesPerPeer: number;
  /** The window, in ms: a peer's counts start again this long after its first byte in the window. */
  readonly windowMs: number;
  /** Peers remembered at once (the oldest window is forgotten first). Default 4096. */
  readonly maxPeers?: number;
  /** Clock in ms (tests). Default performance.now. */
  readonly now?: () => number;
}

interface Usage {
  since: number;
  files: number;
  bytes: number;
}

/** What the quota refused since the start (info's budgets.refused). */
export interface ExchangeRefusals {
  readonly files: number;
  readonly bytes: number;
}

/**
 * The disk quota of the data-exchange service (port 1001), per peer node and across all its streams:
 * how many files and bytes it may make us write in a window. Over it, the frame is answered `ERR`
 * and nothing is written; a file cut short is not announced as received.
 */
export class ExchangeQuota {
  readonly #options: ExchangeQuotaOptions;
  readonly #now: () => number;
  readonly #peers = new Map<number, Usage>();
  #refusedFiles = 0;
  #refusedBytes = 0;

  constructor(options: ExchangeQuotaOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
  }

  get refusals(): ExchangeRefusals {
    return { files: this.#refusedFiles, bytes: this.#refusedBytes };
  }

  #usage(node: number): Usage {
    const now = this.#now();
    let usage = this.#peers.get(node);
    if (usage === undefined || now - usage.since >= this.#options.windowMs) {
      this.#peers.delete(node);
      usage = { since: now, files: 0, bytes: 0 };
      if (this.#peers.size >= (this.#options.maxPeers ?? 4096)) {
        const oldest = this.#peers.keys().next().value;
        if (oldest !== undefined) this.#peers.delete(oldest);
      }
      this.#peers.set(node, usage);
    }
    return usage;
  }

  /** Takes one file from `node`'s quota; false (and counted) when it is spent. */
  file(node: number): boolean {
    const usage = this.#usage(node);
    if (usage.files >= this.#options.filesPerPeer) {
      this.#refusedFiles++;
      return false;
    }
    usage.files++;
    return true;
  }

  /** Takes `count` bytes from `node`'s quota; false (and counted) when they do not fit. */
  bytes(node: number, count: number): boolean {
    const usage = this.#usage(node);
    if (usage.bytes + count > this.#options.bytesPerPeer) {
      this.#refusedBytes++;
      return false;
    }
    usage.bytes += count;
    return true;
  }

  /** What `node` has used in its current window. */
  usage(node: number): { readonly files: number; readonly bytes: number } {
    const usage = this.#peers.get(node);
    return { files: usage?.files ?? 0, bytes: usage?.bytes ?? 0 };
  }
}
