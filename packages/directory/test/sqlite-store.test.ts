import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPilotError } from '@pilot/wire';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { DirErrorCode, MIGRATIONS, SCHEMA_VERSION, SqliteDirectoryStore } from '../src/index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pilot-dir-store-'));
  dirs.push(dir);
  return join(dir, 'directory.db');
}

const node = (publicKey: string, now = 1000) => ({
  publicKey,
  owner: null,
  listenAddr: ':4000',
  observedAddr: '127.0.0.1:5555',
  lanAddrs: [],
  version: null,
  freshOnly: false,
  now,
});

describe('SqliteDirectoryStore', () => {
  it('opens in WAL mode with FULL sync by default and applies the migrations', () => {
    const path = tempDb();
    const store = new SqliteDirectoryStore({ path });
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.db.pragma('synchronous', { simple: true })).toBe(2);
    expect(store.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(SCHEMA_VERSION).toBe(MIGRATIONS.length);
    store.close();
    const normal = new SqliteDirectoryStore({ path, synchronous: 'NORMAL' });
    expect(normal.db.pragma('synchronous', { simple: true })).toBe(1);
    normal.close();
  });

  it('persists across reopen', () => {
    const path = tempDb();
    const store = new SqliteDirectoryStore({ path });
    const created = store.createNode(node('k1'), 1, 10);
    store.setTags(created!.nodeId, ['llm']);
    store.addTrust(1, 2, 5);
    expect(store.hasTrust(2, 1)).toBe(false);
    store.addTrust(2, 1, 6);
    store.close();
    const again = new SqliteDirectoryStore({ path });
    expect(again.getNode(1)).toMatchObject({ publicKey: 'k1', tags: ['llm'], live: true });
    expect(again.hasTrust(2, 1)).toBe(true);
    again.close();
  });

  it('refuses a database written by a newer schema', () => {
    const path = tempDb();
    const raw = new Database(path);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    let error: unknown;
    try {
      new SqliteDirectoryStore({ path }).close();
    } catch (caught) {
      error = caught;
    }
    expect(isPilotError(error, DirErrorCode.SCHEMA_TOO_NEW)).toBe(true);
  });

  it('rolls back only a failed nested transaction', () => {
    const store = new SqliteDirectoryStore({ path: ':memory:' });
    store.transaction(() => {
      store.createNode(node('a'), 1, 10);
      expect(() =>
        store.transaction(() => {
          store.createNode(node('b'), 1, 10);
          throw new Error('refused');
        }),
      ).toThrow('refused');
      store.createNode(node('c'), 1, 10);
    });
    expect(store.getNodeByKey('a')?.nodeId).toBe(1);
    expect(store.getNodeByKey('b')).toBeUndefined();
    expect(store.getNodeByKey('c')?.nodeId).toBe(2);
    store.close();
  });

  it('enforces unique keys and hostnames at the storage level too', () => {
    const store = new SqliteDirectoryStore({ path: ':memory:' });
    store.createNode(node('a'), 1, 10);
    store.createNode(node('b'), 1, 10);
    expect(() => store.createNode(node('a'), 1, 10)).toThrow();
    store.updateNode(1, { hostname: 'x' });
    expect(() => store.updateNode(2, { hostname: 'x' })).toThrow();
    expect(store.createNode(node('z'), 1, 2)).toBeUndefined();
    store.close();
  });
});
