import { startPostgres, type TestPostgres } from '@pilot/testkit/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DirectoryStore } from '../src/index.js';
import { POSTGRES_SCHEMA_VERSION, PostgresDirectoryStore } from '../src/postgres.js';
import { describeStoreCompliance, newNode } from './store-compliance.js';

// A real PostgreSQL server (initdb in a temp dir, Unix socket only), one fresh database per case.
let pg: TestPostgres;
beforeAll(async () => {
  pg = await startPostgres();
}, 60_000);
afterAll(async () => {
  await pg?.stop();
}, 30_000);

const urls = new Map<DirectoryStore, string>();
let next = 0;
const fresh = (): string => pg.createDatabase(`c${next++}`);

// The compliance cases share one database, emptied before each (a database per case costs a createdb).
let shared: string | undefined;
const EMPTY = `TRUNCATE nodes, node_tags, networks, members, invites, trust_reports, handshake_requests,
  handshake_responses, nonces, beacons RESTART IDENTITY;
  ALTER SEQUENCE node_ids RESTART; ALTER SEQUENCE network_ids RESTART`;

describeStoreCompliance('PostgreSQL', {
  async open() {
    shared ??= fresh();
    const store = new PostgresDirectoryStore({ url: shared });
    store.select(EMPTY);
    urls.set(store, shared);
    return store;
  },
  async reopen(store) {
    const url = urls.get(store)!;
    store.close();
    const again = new PostgresDirectoryStore({ url });
    urls.set(again, url);
    return again;
  },
});

describe('PostgresDirectoryStore on a shared database', () => {
  it('gives two instances distinct ids and one nonce use between them', () => {
    const url = fresh();
    const a = new PostgresDirectoryStore({ url });
    const b = new PostgresDirectoryStore({ url });
    try {
      const ids = new Set<number>();
      for (let i = 0; i < 20; i++) {
        const s = i % 2 === 0 ? a : b;
        ids.add(s.transaction(() => s.createNode(newNode(`k${i}`), 1, 1000))!.nodeId);
      }
      expect(ids.size).toBe(20);
      expect(a.getNodeByKey('k1')?.nodeId).toBe(b.getNodeByKey('k1')?.nodeId);
      expect(a.rememberNonce('s', 'n', Date.now() + 1000)).toBe(true);
      expect(b.rememberNonce('s', 'n', Date.now() + 1000)).toBe(false);
      expect(a.countLiveNodes()).toBe(20);
    } finally {
      a.close();
      b.close();
    }
  });

  it('applies migrations once and refuses a database from a newer schema', () => {
    const url = fresh();
    const a = new PostgresDirectoryStore({ url });
    const b = new PostgresDirectoryStore({ url });
    expect(a.select('SELECT version FROM pilot_schema')).toEqual([{ version: POSTGRES_SCHEMA_VERSION }]);
    a.select('INSERT INTO pilot_schema (version) VALUES (999) RETURNING version');
    a.close();
    b.close();
    expect(() => new PostgresDirectoryStore({ url })).toThrow(/newer/);
  });

  it('commits nothing of a transaction whose connection is cut, and reconnects after', () => {
    const url = fresh();
    const store = new PostgresDirectoryStore({ url });
    const killer = new PostgresDirectoryStore({ url });
    try {
      expect(() =>
        store.transaction(() => {
          store.createNode(newNode('lost'), 1, 100);
          killer.select(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pilot-directory' AND pid <> pg_backend_pid()`,
          );
          store.createNode(newNode('lost2'), 1, 100);
        }),
      ).toThrow();
      expect(store.getNodeByKey('lost')).toBeUndefined();
      expect(store.transaction(() => store.createNode(newNode('after'), 1, 100))?.publicKey).toBe('after');
    } finally {
      store.close();
      killer.close();
    }
  });

  it('fails with DIR_STORE_FAILED when the server cannot be reached', () => {
    expect(
      () =>
        new PostgresDirectoryStore({
          url: 'postgres://pilot@/none?host=/nonexistent-dir',
          connectTimeoutMs: 2000,
        }),
    ).toThrow(expect.objectContaining({ code: 'DIR_STORE_FAILED' }));
  });
});
