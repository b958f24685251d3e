// `@pilot/directory/sqlite`: the SQLite store (the native better-sqlite3 addon), behind its own entry
// point so that clients of the directory never load it.
export { MIGRATIONS, type Migration, SCHEMA_VERSION } from './store/migrations.js';
export {
  migrate,
  SqliteDirectoryStore,
  type SqliteStoreOptions,
  type SqliteSynchronous,
} from './store/sqlite-store.js';
