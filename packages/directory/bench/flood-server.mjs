// The victim of the registry flood (bench/flood.mjs, test/flood.int.test.ts): a registry server in
// its own process. `node flood-server.mjs before|after`: "after" runs with the default budgets,
// "before" lifts the ones this work added (frame deadline, buffered bytes, registrations per IP,
// network creation, networks per node), as the registry was before them. Prints "PORT <n>";
// answers "rss" on stdin with "RSS <bytes>".
import { RegistryHandler, SqliteDirectoryStore, startDirectoryServer } from '../dist/index.js';

const mode = process.argv[2] ?? 'after';
const lifted = mode === 'before';
const store = new SqliteDirectoryStore({ path: ':memory:' });
const handler = new RegistryHandler(
  store,
  lifted ? { networkCreateBurstPerNode: 1e9, networkCreateBurstPerIp: 1e9, maxNetworksPerNode: 1e9 } : {},
);
const server = await startDirectoryServer({
  handler,
  port: 0,
  // Many loopback addresses stand for many attackers; both modes take 20,000 connections.
  maxConnections: 20_000,
  ...(lifted
    ? {
        frameTimeoutMs: 1e9,
        maxBufferedBytes: Number.MAX_SAFE_INTEGER,
        registerRate: { perSecond: 1e9, burst: 1e9 },
      }
    : {}),
});
process.stdout.write(`PORT ${server.port}\n`);
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  for (const line of chunk.split('\n')) {
    if (line.trim() === 'rss') process.stdout.write(`RSS ${process.memoryUsage.rss()}\n`);
    if (line.trim() === 'stats')
      process.stdout.write(`STATS ${JSON.stringify({ ...server.stats(), ...handler.limits.counters })}\n`);
  }
});
process.stdin.on('end', async () => {
  await server.close();
  store.close();
  process.exit(0);
});
