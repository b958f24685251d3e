// Registry benchmark: lookups/s and signed registrations/s against a large directory, over real TCP
// to a server in its own process, driven by a load generator in a third process (bench/load.mjs),
// with p50/p99 latency, database size and server memory. Baselines measured in the same run: a raw
// better-sqlite3 point SELECT loop (what a lookup costs without the protocol) and a raw Ed25519
// verify loop on one core (what a signed registration costs without the protocol).
//
//   node bench/run.mjs                      1,000,000 nodes (about 2 minutes)
//   PILOT_DIR_BENCH_NODES=100000 node bench/run.mjs
//   PILOT_DIR_SYNC=NORMAL node bench/run.mjs   the server with synchronous=NORMAL
//   PILOT_DIR_BENCH_STORES=sqlite            SQLite only (default: SQLite, then PostgreSQL when
//                                            its server programs are installed: a throwaway
//                                            server started by the bench, initdb in a temp dir)
import { spawn } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findPostgresBin, startPostgres } from '@pilot/testkit/postgres';
import Database from 'better-sqlite3';
import pg from 'pg';
import { SqliteDirectoryStore } from '../dist/index.js';
import { PostgresDirectoryStore } from '../dist/postgres.js';

const NODES = Number(process.env.PILOT_DIR_BENCH_NODES ?? 1_000_000);
const SECONDS = Number(process.env.PILOT_DIR_BENCH_SECONDS ?? 5);
const dir = mkdtempSync(join(tmpdir(), 'pilot-dir-bench-'));
const db = join(dir, 'directory.db');

function fmt(n) {
  return Math.round(n).toLocaleString('en-US');
}

// ---- build the directory ----
const t0 = performance.now();
{
  const store = new SqliteDirectoryStore({ path: db });
  const insert = store.db.prepare(
    `INSERT INTO nodes (node_id, public_key, listen_addr, observed_addr, lan_addrs, tags, public, registered_at, key_changed_at, last_seen)
     VALUES (?, ?, ':4000', ?, '[]', ?, ?, ?, ?, ?)`,
  );
  const tag = store.db.prepare('INSERT INTO node_tags (tag, node_id) VALUES (?, ?)');
  const now = Date.now();
  const TAGS = ['llm', 'weather.metar', 'weather.taf', 'search', 'code', 'vision', 'speech', 'math'];
  store.db.transaction(() => {
    const key = randomBytes(32);
    for (let id = 1; id <= NODES; id++) {
      key.writeUInt32BE(id, 0);
      const t = TAGS[id % TAGS.length];
      insert.run(
        id,
        key.toString('base64'),
        `10.${(id >> 16) & 255}.${(id >> 8) & 255}.${id & 255}:4000`,
        JSON.stringify([t]),
        id % 2,
        now,
        now,
        now,
      );
      tag.run(t, id);
    }
  })();
  store.db.pragma('wal_checkpoint(TRUNCATE)');
  store.close();
}
const buildSeconds = (performance.now() - t0) / 1000;

// ---- baselines in this process ----
function rawSelectRate() {
  const raw = new Database(db, { readonly: true });
  const stmt = raw.prepare('SELECT * FROM nodes WHERE node_id = ?');
  let n = 0;
  const end = performance.now() + 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 1000; i++) stmt.get(1 + Math.floor(Math.random() * NODES));
    n += 1000;
  }
  raw.close();
  return n;
}
function rawVerifyRate() {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const jwk = publicKey.export({ format: 'jwk' });
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  const msg = Buffer.from(
    'register:xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx=:1700000000:abcdefghijklmnopqrstuv',
  );
  const sig = sign(null, msg, privateKey);
  let n = 0;
  const end = performance.now() + 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 100; i++) verify(null, msg, key, sig);
    n += 100;
  }
  return n;
}
const selectBaseline = rawSelectRate();
const verifyBaseline = rawVerifyRate();

// ---- the server, in its own process, and the load generator in a third ----
async function measure(storeArg) {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./server.mjs', import.meta.url)), storeArg], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code})`)));
  });
  // RSS counts the pages of the database file the server reads through its memory map (the OS page
  // cache's, shared, dropped under pressure); RssAnon is the server's own memory.
  function serverRss() {
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const kib = (name) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024;
    return { total: kib('VmRSS'), anon: kib('RssAnon'), file: kib('RssFile') };
  }
  function load(mode, connections, depth, extra = []) {
    return new Promise((resolve, reject) => {
      const gen = spawn(
        process.execPath,
        [
          fileURLToPath(new URL('./load.mjs', import.meta.url)),
          String(port),
          mode,
          String(SECONDS),
          String(connections),
          String(depth),
          String(NODES),
          ...extra,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let out = '';
      gen.stdout.on('data', (c) => {
        out += c;
      });
      gen.once('exit', (code) =>
        code === 0
          ? resolve({ connections, depth, ...JSON.parse(out) })
          : reject(new Error(`load generator exited (${code})`)),
      );
    });
  }
  const loadBefore = loadAverage();
  // Pipelined: a few connections, each with 16 requests in flight (the protocol answers in order).
  const lookups = await load('lookup', 4, 16);
  // One request at a time per connection, as DirectoryClient does: bound by a syscall pair per request.
  const lookupsUnpipelined = await load('lookup', 32, 1);
  const registrations = await load('register', 16, 4, [String(PRESIGN)]);
  const loadAfter = loadAverage();
  const rss = serverRss();
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  return { lookups, lookupsUnpipelined, registrations, rss, loadBefore, loadAfter };
}

const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const PRESIGN = Number(process.env.PILOT_DIR_BENCH_REGISTRATIONS ?? 40_000);
const sqlite = await measure(db);
const { lookups, lookupsUnpipelined, registrations, rss, loadBefore, loadAfter } = sqlite;
const size = statSync(db).size + (statSync(`${db}-wal`, { throwIfNoEntry: false })?.size ?? 0);
rmSync(dir, { recursive: true, force: true });

const mb = (b) => (b / 1048576).toFixed(1);
const row = (name, r, baseline, what) => {
  console.log(
    `${name.padEnd(34)} ${fmt(r.rate).padStart(7)}/s   p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms   (${r.count} done, ${r.failures} failed${r.ranOut ? ', ran out of pre-signed requests' : ''})`,
  );
  console.log(`  baseline: ${what} ${fmt(baseline)}/s → ratio ${(r.rate / baseline).toFixed(3)}`);
};
console.log(
  `directory of ${fmt(NODES)} nodes (built in ${buildSeconds.toFixed(1)} s), synchronous=${process.env.PILOT_DIR_SYNC ?? 'FULL'}, load average ${loadBefore} before, ${loadAfter} after`,
);
row(
  `lookups (${lookups.connections} conns x ${lookups.depth} pipelined)`,
  lookups,
  selectBaseline,
  'raw better-sqlite3 point SELECT',
);
row(
  `lookups (${lookupsUnpipelined.connections} conns x 1)`,
  lookupsUnpipelined,
  selectBaseline,
  'raw better-sqlite3 point SELECT',
);
row(
  `signed registrations (${registrations.connections} x ${registrations.depth})`,
  registrations,
  verifyBaseline,
  'raw node:crypto Ed25519 verify, one core',
);
console.log(`database size        ${mb(size)} MiB (${(size / NODES).toFixed(0)} B/node)`);
console.log(
  `server memory (RSS)  ${mb(rss.total)} MiB: ${mb(rss.anon)} MiB its own (RssAnon), ${mb(rss.file)} MiB mapped file pages (RssFile)`,
);
console.log(
  `(pre-signing ${PRESIGN} registrations took ${registrations.presignSeconds.toFixed(1)} s in the load generator, outside the timed run)`,
);

// ---- PostgreSQL: the same directory, server and load, beside SQLite in this run ----
const stores = (process.env.PILOT_DIR_BENCH_STORES ?? 'sqlite,postgres').split(',');
if (stores.includes('postgres') && findPostgresBin() === undefined) {
  console.log('\npostgresql: not measured (PostgreSQL server programs not installed)');
} else if (stores.includes('postgres')) {
  const server = await startPostgres({ settings: { shared_buffers: '256MB', max_connections: '100' } });
  try {
    const p0 = performance.now();
    // Built inside PostgreSQL from generate_series (as the SQLite build, without a round trip per row).
    new PostgresDirectoryStore({ url: server.url }).close();
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query(
      `
      INSERT INTO nodes (node_id, public_key, listen_addr, observed_addr, lan_addrs, tags, public, registered_at, key_changed_at, last_seen)
      SELECT g, encode(sha256(int4send(g)), 'base64'), ':4000',
             '10.' || ((g >> 16) & 255) || '.' || ((g >> 8) & 255) || '.' || (g & 255) || ':4000', '[]',
             '["' || (ARRAY['llm','weather.metar','weather.taf','search','code','vision','speech','math'])[1 + g % 8] || '"]',
             g % 2 = 1, $2, $2, $2
      FROM generate_series(1, $1::int) AS g`,
      [NODES, Date.now()],
    );
    await admin.query(
      `
      INSERT INTO node_tags (tag, node_id)
      SELECT (ARRAY['llm','weather.metar','weather.taf','search','code','vision','speech','math'])[1 + g % 8], g
      FROM generate_series(1, $1::int) AS g`,
      [NODES],
    );
    await admin.query(`SELECT setval('node_ids', $1)`, [NODES]);
    await admin.query('VACUUM ANALYZE');
    const pgBuild = (performance.now() - p0) / 1000;
    // Baseline: a raw point SELECT through pg, one connection, one query at a time (what a lookup
    // costs the server in database round trips, without the protocol).
    let raw = 0;
    const end = performance.now() + 1000;
    while (performance.now() < end) {
      await admin.query('SELECT * FROM nodes WHERE node_id = $1', [1 + Math.floor(Math.random() * NODES)]);
      raw++;
    }
    const result = await measure(server.url);
    const pgSize = Number((await admin.query('SELECT pg_database_size(current_database()) AS n')).rows[0].n);
    await admin.end();
    console.log(
      `\npostgresql: the same directory in PostgreSQL (built in ${pgBuild.toFixed(1)} s), synchronous_commit=on, load average ${result.loadBefore} before, ${result.loadAfter} after`,
    );
    row(
      `lookups (${result.lookups.connections} conns x ${result.lookups.depth} pipelined)`,
      result.lookups,
      raw,
      'raw pg point SELECT, 1 conn',
    );
    row(
      `lookups (${result.lookupsUnpipelined.connections} conns x 1)`,
      result.lookupsUnpipelined,
      raw,
      'raw pg point SELECT, 1 conn',
    );
    row(
      `signed registrations (${result.registrations.connections} x ${result.registrations.depth})`,
      result.registrations,
      verifyBaseline,
      'raw node:crypto Ed25519 verify, one core',
    );
    console.log(
      `  vs SQLite in this run: lookups ${(result.lookups.rate / lookups.rate).toFixed(3)}, registrations ${(result.registrations.rate / registrations.rate).toFixed(3)}`,
    );
    console.log(`database size        ${mb(pgSize)} MiB (${(pgSize / NODES).toFixed(0)} B/node)`);
    console.log(
      `server memory (RSS)  ${mb(result.rss.total)} MiB (the registry process; PostgreSQL's own processes not counted)`,
    );
  } finally {
    await server.stop();
  }
}
