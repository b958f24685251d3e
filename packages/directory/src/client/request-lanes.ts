import { DirErrorCode, dirError } from '../errors.js';

/**
 * Which queue a request waits in. `own`: what the client's owner needs to stay alive and do its work
 * (register, heartbeat, polls, its own lookups). `background`: requests caused by input that no one
 * has authenticated yet (a daemon looking up the key of a stranger that sent it a PILA): they wait in
 * their own bounded queue, are sent only when no `own` request is waiting, and give up when they
 * waited past their deadline, so a flood of them never delays a heartbeat by more than the one
 * request already on the wire.
 */
export type RequestLane = 'own' | 'background';

export interface RequestLanesOptions {
  /** Background requests waiting at once; one more is refused at once (DIR_RATE_LIMITED). */
  readonly maxBackground: number;
}

interface Waiting {
  readonly start: () => void;
  readonly expire: (error: Error) => void;
  /** performance.now() after which a background request is no longer worth sending. */
  readonly expiresAt: number;
}

/**
 * One request at a time over one connection (the registry protocol has no request IDs), taken from
 * two queues: every waiting `own` request before any `background` one.
 */
export class RequestLanes {
  readonly #options: RequestLanesOptions;
  readonly #own: Waiting[] = [];
  readonly #background: Waiting[] = [];
  #busy = false;
  /** Background requests refused because their queue was full, or dropped because they waited too long. */
  backgroundRefused = 0;
  backgroundExpired = 0;

  constructor(options: RequestLanesOptions) {
    this.#options = options;
  }

  /** Requests waiting in each lane (not counting the one on the wire). */
  get waiting(): { readonly own: number; readonly background: number } {
    return { own: this.#own.length, background: this.#background.length };
  }

  /**
   * Runs `task` when its turn comes. A background task that is still waiting `maxWaitMs` after it was
   * queued is rejected with DIR_TIMEOUT without being sent (its deadline runs from the call, not
   * from when it leaves the queue).
   */
  run<T>(
    lane: RequestLane,
    task: () => Promise<T>,
    maxWaitMs: number = Number.POSITIVE_INFINITY,
  ): Promise<T> {
    if (lane === 'background' && this.#background.length >= this.#options.maxBackground) {
      this.backgroundRefused++;
      return Promise.reject(
        dirError(DirErrorCode.RATE_LIMITED, 'too many background registry requests waiting'),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const start = (): void => {
        task()
          .then(resolve, reject)
          .finally(() => this.#next());
      };
      const waiting: Waiting = { start, expire: reject, expiresAt: performance.now() + maxWaitMs };
      (lane === 'own' ? this.#own : this.#background).push(waiting);
      if (!this.#busy) this.#next();
    });
  }

  #next(): void {
    this.#busy = false;
    const own = this.#own.shift();
    if (own !== undefined) {
      this.#busy = true;
      own.start();
      return;
    }
    const now = performance.now();
    for (let waiting = this.#background.shift(); waiting !== undefined; waiting = this.#background.shift()) {
      if (now > waiting.expiresAt) {
        this.backgroundExpired++;
        waiting.expire(dirError(DirErrorCode.TIMEOUT, 'waited too long for the registry connection'));
        continue;
      }
      this.#busy = true;
      waiting.start();
      return;
    }
  }
}
