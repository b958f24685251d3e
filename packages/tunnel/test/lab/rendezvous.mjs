// The rendezvous of the tunnel lab tests, run in the lab's `pub` namespace: a registry (SQLite on a
// temp file) on :9000 and two beacons on :9001 and :9002 (the second lets nodes classify their NAT).
// Prints {"event":"ready"}; stops when stdin closes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryHandler, startDirectoryServer } from '@pilot/directory/server';
import { SqliteDirectoryStore } from '@pilot/directory/sqlite';
import { Beacon } from '@pilot/nat';

const host = process.argv[2] ?? '198.18.0.1';
const dir = mkdtempSync(join(tmpdir(), 'pilot-lab-rv-'));
const store = new SqliteDirectoryStore({ path: join(dir, 'registry.db') });
const server = await startDirectoryServer({
  handler: new RegistryHandler(store),
  host,
  port: 9000,
  reapIntervalMs: 0,
});
// The registry's keys let the beacon believe a node's proven discover after its mapping changed
// (as pilot-rendezvous does); the relay rates are lifted for the relayed transfers of the tests.
const nodeKey = (node) => {
  const record = store.getNode(node);
  return record === undefined ? undefined : new Uint8Array(Buffer.from(record.publicKey, 'base64'));
};
const fast = { perSecond: 64 << 20, burst: 64 << 20 };
const beacons = await Promise.all([
  Beacon.start({
    host,
    port: 9001,
    nodeKey,
    relayByteRate: fast,
    relaySourceByteRate: fast,
    relaySourcePacketRate: { perSecond: 100_000, burst: 100_000 },
  }),
  Beacon.start({ host, port: 9002 }),
]);
process.stdout.write(`${JSON.stringify({ event: 'ready', registry: 9000, beacons: [9001, 9002] })}\n`);
process.stdin.resume();
process.stdin.on('end', async () => {
  for (const beacon of beacons) await beacon.close();
  await server.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
});
