// Registry benchmark: lookups/s and signed registrations/s against a large directory, over real TCP
// to a server in its own process, with p50/p99 latency, database size and server memory. Baselines
// measured in the same run: a raw better-sqlite3 point SELECT loop (what a lookup costs without the
// protocol) and a raw Ed25519 verify loop (the floor of a signed registration).
//
//   node bench/run.mjs                      1,000,000 nodes
//   PILOT_DIR_BENCH_NODES=100000 node bench/run.mjs
import { spawn } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import {
  Challenge,
  createSigner,
  DirectoryClient,
  SqliteDirectoryStore,
  signChallenge,
  toBase64,
} from '../dist/index.js';

const NODES = Number(process.env.PILOT_DIR_BENCH_NODES ?? 1_000_000);
const CLIENTS = Number(process.env.PILOT_DIR_BENCH_CLIENTS ?? 32);
const SECONDS = Number(process.env.PILOT_DIR_BENCH_SECONDS ?? 5);
const dir = mkdtempSync(join(tmpdir(), 'pilot-dir-bench-'));
const db = join(dir, 'directory.db');

function fmt(n) {
  return Math.round(n).toLocaleString('en-US');
}
function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

// ---- build the directory ----
let t0 = performance.now();
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

// ---- the server ----
const child = spawn(process.execPath, [fileURLToPath(new URL('./server.mjs', import.meta.url)), db], {
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
function serverRss() {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) * 1024;
}
const clients = await Promise.all(
  Array.from({ length: CLIENTS }, () => DirectoryClient.connect({ host: '127.0.0.1', port })),
);

async function drive(makeRequest, seconds) {
  const latencies = [];
  let count = 0;
  let failures = 0;
  const end = performance.now() + seconds * 1000;
  await Promise.all(
    clients.map(async (client) => {
      while (performance.now() < end) {
        const message = makeRequest();
        if (message === undefined) return;
        const start = performance.now();
        try {
          await client.request(message);
        } catch {
          failures += 1;
        }
        latencies.push(performance.now() - start);
        count += 1;
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return {
    rate: count / seconds,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    count,
    failures,
  };
}

// Lookups of random existing nodes.
await drive(() => ({ type: 'lookup', node_id: 1 + Math.floor(Math.random() * NODES) }), 1); // warm-up
const lookups = await drive(
  () => ({ type: 'lookup', node_id: 1 + Math.floor(Math.random() * NODES) }),
  SECONDS,
);

// Signed registrations of new keys: signed before the clock starts, so the figure is the server's.
const signed = [];
const PRESIGN = Number(process.env.PILOT_DIR_BENCH_REGISTRATIONS ?? 20_000);
t0 = performance.now();
for (let i = 0; i < PRESIGN; i++) {
  const signer = createSigner();
  const key = toBase64(signer.publicKey);
  signed.push({
    type: 'register',
    public_key: key,
    listen_addr: ':4000',
    ...signChallenge(signer, Challenge.register(key)),
  });
}
const presignSeconds = (performance.now() - t0) / 1000;
let next = 0;
const registrations = await drive(() => signed[next++], SECONDS);
const rss = serverRss();

for (const client of clients) client.close();
child.kill('SIGTERM');
await new Promise((resolve) => child.once('exit', resolve));
const size = statSync(db).size + (statSync(`${db}-wal`, { throwIfNoEntry: false })?.size ?? 0);
rmSync(dir, { recursive: true, force: true });

const mb = (b) => (b / 1048576).toFixed(1);
console.log(
  `directory of ${fmt(NODES)} nodes (built in ${buildSeconds.toFixed(1)} s), ${CLIENTS} TCP clients, synchronous=${process.env.PILOT_DIR_SYNC ?? 'FULL'}`,
);
console.log(
  `lookups/s            ${fmt(lookups.rate).padStart(9)}   p50 ${lookups.p50.toFixed(2)} ms  p99 ${lookups.p99.toFixed(2)} ms   (${lookups.failures} failed)`,
);
console.log(
  `  baseline: raw better-sqlite3 point SELECT ${fmt(selectBaseline)}/s → ratio ${(lookups.rate / selectBaseline).toFixed(3)}`,
);
console.log(
  `signed registrations/s ${fmt(registrations.rate).padStart(7)}   p50 ${registrations.p50.toFixed(2)} ms  p99 ${registrations.p99.toFixed(2)} ms   (${registrations.count} done, ${registrations.failures} failed${next >= PRESIGN ? ', ran out of pre-signed requests' : ''})`,
);
console.log(
  `  baseline: raw node:crypto Ed25519 verify ${fmt(verifyBaseline)}/s → ratio ${(registrations.rate / verifyBaseline).toFixed(3)}`,
);
console.log(`database size        ${mb(size)} MiB (${(size / NODES).toFixed(0)} B/node)`);
console.log(`server memory (RSS)  ${mb(rss)} MiB`);
console.log(
  `(pre-signing ${PRESIGN} registrations took ${presignSeconds.toFixed(1)} s, outside the timed run)`,
);
