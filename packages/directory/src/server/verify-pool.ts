import { Worker } from 'node:worker_threads';
import type { SignatureClaim } from './signature-claim.js';

// The worker's code, inline so that it runs the same from dist/ and from the sources under test.
// A raw Ed25519 key is imported as JWK (far cheaper than DER) and checked with node:crypto.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createPublicKey, verify } = require('node:crypto');
parentPort.on('message', (batch) => {
  const results = new Uint8Array(batch.claims.length);
  for (let i = 0; i < batch.claims.length; i++) {
    const c = batch.claims[i];
    try {
      const raw = Buffer.from(c.publicKey, 'base64');
      const sig = Buffer.from(c.signature, 'base64');
      if (raw.length !== 32 || sig.length !== 64) continue;
      const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
      results[i] = verify(null, Buffer.from(c.text, 'utf8'), key, sig) ? 1 : 0;
    } catch {}
  }
  parentPort.postMessage({ id: batch.id, results }, [results.buffer]);
});
`;

type Pending = { readonly done: (valid: boolean[]) => void };

/**
 * Ed25519 checks on worker threads, so that the signature of a request that carries its own key
 * (a registration) is checked on another core while the event loop serves other requests. A
 * verdict only saves work: the handler still checks everything else, and re-checks any signature
 * the pool did not confirm. If a worker dies, its pending batches are answered "not confirmed".
 */
export class VerifyPool {
  readonly #workers: Worker[] = [];
  readonly #pending = new Map<number, { worker: Worker; entry: Pending }>();
  #next = 0;
  #nextId = 0;
  #closed = false;

  constructor(size: number) {
    for (let i = 0; i < size; i++) this.#spawn();
  }

  get size(): number {
    return this.#workers.length;
  }

  #spawn(): void {
    // Its stdio is not forwarded: forwarding would open the parent's stdout/stderr pipes for good.
    const worker = new Worker(WORKER_SOURCE, { eval: true, stdout: true, stderr: true });
    worker.unref();
    worker.on('message', (message: { id: number; results: Uint8Array }) => {
      const pending = this.#pending.get(message.id);
      if (pending === undefined) return;
      this.#pending.delete(message.id);
      pending.entry.done(Array.from(message.results, (r) => r === 1));
    });
    const fail = (): void => {
      const index = this.#workers.indexOf(worker);
      if (index >= 0) this.#workers.splice(index, 1);
      for (const [id, pending] of this.#pending) {
        if (pending.worker !== worker) continue;
        this.#pending.delete(id);
        pending.entry.done([]);
      }
    };
    worker.on('error', fail);
    worker.on('exit', fail);
    this.#workers.push(worker);
  }

  /** Checks a batch of claims; `done` gets one verdict per claim (false: not confirmed). */
  check(claims: readonly SignatureClaim[], done: (valid: readonly boolean[]) => void): void {
    const worker = this.#workers[this.#next++ % Math.max(1, this.#workers.length)];
    if (this.#closed || worker === undefined) {
      queueMicrotask(() => done([]));
      return;
    }
    const id = this.#nextId++;
    this.#pending.set(id, { worker, entry: { done } });
    worker.postMessage({ id, claims });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const workers = this.#workers.splice(0);
    await Promise.all(workers.map((worker) => worker.terminate()));
    for (const [id, pending] of this.#pending) {
      this.#pending.delete(id);
      pending.entry.done([]);
    }
  }
}
