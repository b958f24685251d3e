// Two daemons and a rendezvous on loopback for manual runs (pilotctl bench, send-file): prints the
// sockets and node IDs, stops when stdin closes.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RegistryHandler, startDirectoryServer } from '@pilot/directory/server';
import { SqliteDirectoryStore } from '@pilot/directory/sqlite';
import { Beacon } from '@pilot/nat';

const PEER = fileURLToPath(new URL('./peer.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'pilot-daemon-hold-'));
const store = new SqliteDirectoryStore({ path: join(dir, 'registry.db') });
const server = await startDirectoryServer({ handler: new RegistryHandler(store), port: 0, verifyWorkers: 0 });
const beacon = await Beacon.start({ host: '127.0.0.1', port: 0 });
const children = [];
for (const name of ['alpha', 'beta']) {
  const options = {
    home: join(dir, name),
    registry: `127.0.0.1:${server.port}`,
    beacon: `127.0.0.1:${beacon.address().port}`,
    listen: '127.0.0.1:0',
    socket: join(dir, `${name}.sock`),
    hostname: name,
    public: true,
    logLevel: 'error',
  };
  const prof = process.env.BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROF] : [];
  const child = spawn(process.execPath, [...prof, PEER, 'daemon', JSON.stringify(options)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const [line] = await once(child.stdout, 'data');
  children.push(child);
  console.log(JSON.stringify({ name, home: options.home, ...JSON.parse(String(line)) }));
}
process.stdin.on('end', async () => {
  for (const child of children) {
    child.stdin.end();
    await once(child, 'exit');
  }
  await beacon.close();
  await server.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
});
process.stdin.resume();
