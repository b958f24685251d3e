// `@pilot/directory/postgres`: the PostgreSQL store, behind its own entry point so that clients of
// the directory (daemons, pilotctl) never load `pg` or the worker bridge.
export { POSTGRES_MIGRATIONS, POSTGRES_SCHEMA_VERSION } from './store/postgres/postgres-migrations.js';
export { PostgresDirectoryStore, type PostgresStoreOptions } from './store/postgres/postgres-store.js';
export { PostgresQueryError } from './store/postgres/sync-connection.js';
