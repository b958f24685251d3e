import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { type DirectoryStore, SqliteDirectoryStore } from '../src/index.js';
import { describeStoreCompliance } from './store-compliance.js';

const dir = mkdtempSync(join(tmpdir(), 'pilot-dir-compliance-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const paths = new Map<DirectoryStore, string>();
let next = 0;

describeStoreCompliance('SQLite', {
  async open() {
    const path = join(dir, `s${next++}.db`);
    const store = new SqliteDirectoryStore({ path });
    paths.set(store, path);
    return store;
  },
  async reopen(store) {
    const path = paths.get(store)!;
    store.close();
    const again = new SqliteDirectoryStore({ path });
    paths.set(again, path);
    return again;
  },
});
