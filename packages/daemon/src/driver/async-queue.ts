/**
 * A bounded queue read through an async iterator: `put` hands an item to a waiting reader or keeps
 * it (refusing it when `limit` items wait), `fail` makes the next read reject, `end` finishes the
 * iteration once the kept items are read.
 */
export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  readonly #items: T[] = [];
  readonly #readers: Array<{ resolve(result: IteratorResult<T>): void; reject(error: unknown): void }> = [];
  readonly #limit: number;
  #ended = false;
  #error: unknown;

  constructor(limit: number) {
    this.#limit = limit;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** False when the item was refused (queue full or ended); the caller disposes of it. */
  put(item: T): boolean {
    if (this.#ended) return false;
    const reader = this.#readers.shift();
    if (reader !== undefined) {
      reader.resolve({ value: item, done: false });
      return true;
    }
    if (this.#items.length >= this.#limit) return false;
    this.#items.push(item);
    return true;
  }

  fail(error: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = error;
    for (const reader of this.#readers.splice(0)) reader.reject(error);
  }

  /** Ends the iteration; returns the items nobody read. */
  end(): T[] {
    this.#ended = true;
    for (const reader of this.#readers.splice(0)) reader.resolve({ value: undefined, done: true });
    return this.#items.splice(0);
  }

  next(): Promise<IteratorResult<T>> {
    const item = this.#items.shift();
    if (item !== undefined) return Promise.resolve({ value: item, done: false });
    if (this.#ended) {
      if (this.#error !== undefined) {
        const error = this.#error;
        this.#error = undefined;
        return Promise.reject(error);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => this.#readers.push({ resolve, reject }));
  }

  return(): Promise<IteratorResult<T>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
