// The registry in its own process for the benchmark: `node server.mjs <db-file | postgres-url>`. Prints "PORT <n>".
// SIGTERM closes it cleanly (so `node --cpu-prof server.mjs` writes its profile).
import { RegistryHandler, SqliteDirectoryStore, startDirectoryServer } from '../dist/index.js';
import { PostgresDirectoryStore } from '../dist/postgres.js';

// A SQLite file, or a postgres:// URL.
const store = process.argv[2].startsWith('postgres://')
  ? new PostgresDirectoryStore({ url: process.argv[2] })
  : new SqliteDirectoryStore({
      path: process.argv[2],
      synchronous: process.env.PILOT_DIR_SYNC ?? 'FULL',
      ...(process.env.PILOT_DIR_MMAP === undefined
        ? {}
        : { mmapSizeBytes: Number(process.env.PILOT_DIR_MMAP) }),
    });
const handler = new RegistryHandler(store, { maxNodeId: 0xfffffffe, maxNodesPerOwner: 1e9 });
const unlimited = { perSecond: 1e9, burst: 1e9 };
const server = await startDirectoryServer({
  handler,
  port: 0,
  connectionRate: unlimited,
  sourceRate: unlimited,
  registerRate: unlimited,
  connectRate: unlimited,
  acceptRate: unlimited,
  maxConnectionsPerSource: 1000,
  maxQueuedPerConnection: 1000,
});
process.stdout.write(`PORT ${server.port}\n`);
process.once('SIGTERM', () => {
  server.close().then(() => {
    store.close();
    process.exit(0);
  });
});
