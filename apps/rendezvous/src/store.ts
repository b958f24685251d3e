import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DirectoryStore } from '@pilot/directory/server';
import { SqliteDirectoryStore } from '@pilot/directory/sqlite';

/** The directory's store as the program uses it: the store, a live-node count, and closing. */
export type OpenedStore = {
  readonly store: DirectoryStore;
  /** `sqlite` or `postgres`. */
  readonly kind: 'sqlite' | 'postgres';
  /** Nodes currently live (health report, metrics, dashboard). */
  liveNodes(): number;
  /** Read-only SQL for the dashboard's figures (both stores speak this much SQL alike). */
  select(sql: string): Record<string, unknown>[];
  close(): void;
};

/** Whether `--store` names a PostgreSQL database rather than a SQLite file. */
export function isPostgresUrl(store: string): boolean {
  return /^postgres(ql)?:\/\//i.test(store);
}

/**
 * Opens `--store`: a PostgreSQL URL (several instances may share that database) or a SQLite file.
 * The PostgreSQL store is loaded only when asked for, so a SQLite rendezvous never loads `pg`.
 */
export async function openStore(store: string): Promise<OpenedStore> {
  if (isPostgresUrl(store)) {
    const { PostgresDirectoryStore } = await import('@pilot/directory/postgres');
    const pg = new PostgresDirectoryStore({ url: store });
    return {
      store: pg,
      kind: 'postgres',
      liveNodes: () => pg.countLiveNodes(),
      select: (sql) => pg.select(sql),
      close: () => pg.close(),
    };
  }
  if (store !== ':memory:') mkdirSync(dirname(store), { recursive: true, mode: 0o700 });
  const sqlite = new SqliteDirectoryStore({ path: store });
  const liveNodes = sqlite.db.prepare('SELECT COUNT(*) AS n FROM nodes WHERE live = 1');
  return {
    store: sqlite,
    kind: 'sqlite',
    liveNodes: () => (liveNodes.get() as { n: number }).n,
    select: (sql) => sqlite.db.prepare(sql).all() as Record<string, unknown>[],
    close: () => sqlite.close(),
  };
}

/** The store as logs may show it: a PostgreSQL URL without its password. */
export function describeStore(store: string): string {
  if (!isPostgresUrl(store)) return store;
  // Not `new URL`: a socket URL (`postgres://user@/db?host=/dir`) has no host and does not parse.
  return store.replace(/^(postgres(?:ql)?:\/\/[^:@/]*):[^@/]*@/i, '$1:***@');
}
