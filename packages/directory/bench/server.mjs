// The registry in its own process for the benchmark: `node server.mjs <db-file>`. Prints "PORT <n>".
import { RegistryHandler, SqliteDirectoryStore, startDirectoryServer } from '../dist/index.js';

const store = new SqliteDirectoryStore({
  path: process.argv[2],
  synchronous: process.env.PILOT_DIR_SYNC ?? 'FULL',
});
const handler = new RegistryHandler(store, { maxNodeId: 0xfffffffe, maxNodesPerOwner: 1e9 });
const unlimited = { perSecond: 1e9, burst: 1e9 };
const server = await startDirectoryServer({
  handler,
  port: 0,
  connectionRate: unlimited,
  sourceRate: unlimited,
  maxConnectionsPerSource: 1000,
});
process.stdout.write(`PORT ${server.port}\n`);
