import { createRequire } from 'node:module';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { DirErrorCode, dirError } from '../../errors.js';

/**
 * One PostgreSQL connection with a synchronous face. `DirectoryStore` is synchronous (SQLite answers
 * in-process in microseconds, and the server's group commit runs a whole batch inside one call), so
 * the PostgreSQL store talks to the database through `pg` on a worker thread and blocks the calling
 * thread on `Atomics.wait` until the worker has the answer (the pattern of synckit). Each statement
 * costs one round trip to the server while the event loop waits: the price of keeping the registry
 * logic, its transactions and its crash guarantees identical over both stores (README: "Several
 * registry instances").
 *
 * Statements that return nothing the caller needs (BEGIN, SAVEPOINT, RELEASE) are sent without
 * waiting; the worker runs everything in order, and an error of such a statement is reported by the
 * next statement that waits (a failed SAVEPOINT means a lost connection, which fails the batch anyway).
 */
export type QueryResult = { readonly rows: Record<string, unknown>[]; readonly rowCount: number };

/** `tx` marks the statements that open and end a transaction, and the reset after a timeout. */
export type TxMark = 'begin' | 'end';
type Request = {
  readonly id: number;
  readonly sql: string;
  readonly params: readonly unknown[];
  readonly wait: boolean;
  readonly tx?: TxMark | 'reset';
};
type Reply = {
  readonly id: number;
  readonly result?: QueryResult;
  readonly error?: { message: string; code?: string };
};

// Inline, so that it runs the same from dist/ and from the sources under test (as the verify pool).
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const pg = require(workerData.pgPath);
const flag = new Int32Array(workerData.signal);
const port = workerData.port;
// BIGINT (times in ms, ids, COUNT) as numbers: every value the store keeps is below 2^53.
const types = { getTypeParser: (oid, format) => oid === 20 ? (v) => v === null ? null : Number(v) : pg.types.getTypeParser(oid, format) };
let current;
let ready;
let deferred = null;
// The connection a transaction began on: if it is lost, every later statement of that transaction
// fails (never silently on a new connection in autocommit) until its COMMIT or ROLLBACK.
let txClient = null;
let chain = Promise.resolve();
function connection() {
  if (ready) return ready;
  const c = new pg.Client({ connectionString: workerData.url, types, application_name: 'pilot-directory', connectionTimeoutMillis: workerData.connectTimeoutMs, keepAlive: true });
  const drop = () => { if (current === c) { current = undefined; ready = undefined; } };
  current = c;
  c.on('error', drop);
  c.on('end', drop);
  ready = c.connect().then(() => c, (error) => { drop(); throw error; });
  return ready;
}
function answer(reply) {
  port.postMessage(reply);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}
async function run(request) {
  if (request.tx === 'reset') {
    const c = current; current = undefined; ready = undefined; deferred = null; txClient = null;
    if (c) c.end().catch(() => {});
    return;
  }
  let error = null;
  let result;
  if (deferred !== null && request.wait && request.tx !== 'end') {
    error = deferred;
  } else {
    try {
      const c = await connection();
      if (request.tx === 'begin') txClient = c;
      else if (txClient !== null && txClient !== c) throw Object.assign(new Error('connection lost during the transaction'), { code: '08006' });
      if (request.tx === 'end' && request.sql === 'COMMIT' && deferred !== null) {
        // A statement of this transaction failed unseen: it must not be reported committed.
        await c.query('ROLLBACK');
        throw deferred;
      }
      // Without parameters: the simple protocol, which takes several statements (migrations).
      const r = await c.query(request.sql, request.params.length > 0 ? request.params : undefined);
      // COMMIT of a transaction PostgreSQL had aborted answers "ROLLBACK", not an error.
      if (request.sql === 'COMMIT' && r.command === 'ROLLBACK') throw Object.assign(new Error('the transaction was rolled back'), { code: '40000' });
      result = { rows: r.rows, rowCount: r.rowCount ?? 0 };
    } catch (e) {
      error = { message: String((e && e.message) || e), code: e && typeof e.code === 'string' ? e.code : undefined };
    }
  }
  if (request.tx === 'end') {
    // After a lost connection, ROLLBACK has nothing to undo; COMMIT must fail (it did not happen).
    if (error !== null && txClient !== null && txClient !== current && request.sql === 'ROLLBACK') error = null;
    txClient = null;
    deferred = null;
  }
  if (request.wait) {
    if (error === null && deferred !== null && request.tx !== 'end') error = deferred;
    if (error !== null) deferred = null;
    answer(error === null ? { id: request.id, result } : { id: request.id, error });
  } else if (error !== null && deferred === null) deferred = error;
}
port.on('message', (request) => { chain = chain.then(() => run(request)); });
`;

export type SyncConnectionOptions = {
  /** `postgres://user:password@host:port/database` (libpq-style; `?host=/dir` for a Unix socket). */
  readonly url: string;
  /** How long one statement may take before the store gives up on it. Default 30 s. */
  readonly statementTimeoutMs?: number;
  /** Default 10 s. */
  readonly connectTimeoutMs?: number;
};

/** A PostgreSQL error as the store reports it: SQLSTATE `code` kept for the caller. */
export class PostgresQueryError extends Error {
  readonly code: string | undefined;
  constructor(message: string, code: string | undefined) {
    super(message);
    this.name = 'PostgresQueryError';
    this.code = code;
  }
}

export class SyncConnection {
  readonly #worker: Worker;
  readonly #port: MessagePort;
  readonly #flag: Int32Array;
  readonly #timeoutMs: number;
  #nextId = 1;
  #closed = false;

  constructor(options: SyncConnectionOptions) {
    const signal = new SharedArrayBuffer(4);
    this.#flag = new Int32Array(signal);
    this.#timeoutMs = options.statementTimeoutMs ?? 30_000;
    const { port1, port2 } = new MessageChannel();
    this.#port = port1;
    const pgPath = createRequire(import.meta.url).resolve('pg');
    // Its stdio is not forwarded: forwarding would open the parent's stdout/stderr pipes for good.
    this.#worker = new Worker(WORKER_SOURCE, {
      eval: true,
      stdout: true,
      stderr: true,
      workerData: {
        url: options.url,
        signal,
        port: port2,
        pgPath,
        connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      },
      transferList: [port2],
    });
    this.#worker.unref();
    this.#port.unref();
  }

  /** Sends a statement whose result is not needed; its error, if any, surfaces at the next `query`. */
  send(sql: string, params: readonly unknown[] = [], tx?: TxMark): void {
    if (this.#closed) throw dirError(DirErrorCode.STORE_FAILED, 'store closed');
    this.#port.postMessage({
      id: 0,
      sql,
      params,
      wait: false,
      ...(tx === undefined ? {} : { tx }),
    } satisfies Request);
  }

  /** Runs a statement and blocks until its result. Throws PostgresQueryError or DIR_STORE_FAILED. */
  query(sql: string, params: readonly unknown[] = [], tx?: TxMark): QueryResult {
    if (this.#closed) throw dirError(DirErrorCode.STORE_FAILED, 'store closed');
    const id = this.#nextId++;
    Atomics.store(this.#flag, 0, 0);
    this.#port.postMessage({
      id,
      sql,
      params,
      wait: true,
      ...(tx === undefined ? {} : { tx }),
    } satisfies Request);
    const deadline = Date.now() + this.#timeoutMs;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0 || Atomics.wait(this.#flag, 0, 0, left) === 'timed-out') {
        // The statement may still finish later; drop the connection so that its transaction ends.
        this.#port.postMessage({ id: 0, sql: '', params: [], wait: false, tx: 'reset' } satisfies Request);
        throw dirError(DirErrorCode.STORE_FAILED, `PostgreSQL did not answer within ${this.#timeoutMs} ms`);
      }
      Atomics.store(this.#flag, 0, 0);
      for (;;) {
        const message = receiveMessageOnPort(this.#port) as { message: Reply } | undefined;
        if (message === undefined) break;
        const reply = message.message;
        // A reply to a statement that timed out earlier: stale, dropped.
        if (reply.id !== id) continue;
        if (reply.error !== undefined) throw new PostgresQueryError(reply.error.message, reply.error.code);
        return reply.result ?? { rows: [], rowCount: 0 };
      }
    }
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#port.close();
    return this.#worker.terminate().then(() => undefined);
  }
}
