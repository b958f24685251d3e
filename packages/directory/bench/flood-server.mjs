// The victim of the registry flood (bench/flood.mjs, test/flood.int.test.ts): a registry server in
// its own process. `node flood-server.mjs before|budgets|after`: "after" runs with the default budgets,
// "before" lifts the ones issue 15 added (frame deadline, buffered bytes, registrations per IP,
// network creation, networks per node), as the registry was before them. Prints "PORT <n>";
// answers "rss" on stdin with "RSS <bytes>".
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { RegistryHandler, SqliteDirectoryStore, startDirectoryServer } from '../dist/index.js';

const mode = process.argv[2] ?? 'after';
const lifted = mode === 'before';
// "budgets": the budgets of the first round of issue 15 only (frame deadline, buffered bytes,
// registrations per IP, network creation), without the accept and connect rates and the register hang-up.
const firstRound = lifted || mode === 'budgets';
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
  ...(firstRound
    ? {
        connectRate: { perSecond: 1e9, burst: 1e9 },
        acceptRate: { perSecond: 1e9, burst: 1e9 },
        acceptShedAt: 1,
        registerHangupAfter: Number.POSITIVE_INFINITY,
      }
    : {}),
  ...(lifted
    ? {
        frameTimeoutMs: 1e9,
        maxBufferedBytes: Number.MAX_SAFE_INTEGER,
        registerRate: { perSecond: 1e9, burst: 1e9 },
      }
    : {}),
});
const loop = monitorEventLoopDelay({ resolution: 5 });
loop.enable();
process.stdout.write(`PORT ${server.port}\n`);
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  for (const line of chunk.split('\n')) {
    if (line.trim() === 'rss') process.stdout.write(`RSS ${process.memoryUsage.rss()}\n`);
    if (line.trim() === 'stats')
      process.stdout.write(
        `STATS ${JSON.stringify({
          ...server.stats(),
          ...handler.limits.counters,
          loopDelayP99Ms: loop.percentile(99) / 1e6,
          loopDelayMaxMs: loop.max / 1e6,
        })}\n`,
      );
  }
});
process.stdin.on('end', async () => {
  loop.disable();
  await server.close();
  store.close();
  process.exit(0);
});
