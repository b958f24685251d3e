// pnpm bench: the memory of a daemon holding idle tunnels (issue 13: 10 000 under 100 MiB). The daemon
// is the one users run: started by `pilotctl daemon start` (its node flags, DAEMON_NODE_FLAGS), in a
// process of its own, registered with a registry (SQLite) and beacon that run in this process. Its
// peers, BENCH_TUNNELS (default 10 000) nodes played by a child process (bench/idle-peers.mjs), are
// registered in the registry's store and each sends the daemon a signed PILA; the daemon looks each
// key up in the registry, keys the tunnel and answers with its PILA. The peers then seal a keepalive
// per tunnel every 15 s (the daemon opens them), and the daemon sends its own keepalive round (every
// 20 s) on its own: idle tunnels, with live peers, as they are in use. The daemon's RSS (VmRSS from
// /proc, what `ps` shows) is read at rest after start, and then every 5 s for BENCH_SETTLE_S (default
// 60) seconds after the last tunnel is keyed: nothing forces a GC in the daemon.
//   BENCH_TUNNELS     tunnels (default 10 000)
//   BENCH_SETTLE_S    seconds of idle after keying, sampled every 5 s (default 60)
//   BENCH_DAEMON_ENV  e.g. "MALLOC_ARENA_MAX=2": environment of the daemon (default none)
// The daemon gets --budget-lookup-* flags that let it look up 2000 strangers' keys a second, 256 at
// once (the default 20 a second would make keying 10 000 peers take 8 minutes), and the registry
// serves its connection 10 000 requests a second (default 100); nothing else differs.
import { execFile, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Driver } from '@pilot/daemon/driver';
import { RegistryHandler, startDirectoryServer } from '@pilot/directory/server';
import { SqliteDirectoryStore } from '@pilot/directory/sqlite';
import { Beacon } from '@pilot/nat';

const PILOTCTL = fileURLToPath(new URL('../dist/pilotctl.cjs', import.meta.url));
const TUNNELS = Number(process.env.BENCH_TUNNELS ?? 10_000);
const SETTLE_S = Number(process.env.BENCH_SETTLE_S ?? 60);
const BATCH = 256;
const MiB = 1024 * 1024;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const load = () => loadavg()[0].toFixed(1);

/** The daemon's memory as the kernel counts it (MiB): VmRSS, and its anonymous part. */
function rssOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rss: kib('VmRSS') / 1024, anon: kib('RssAnon') / 1024 };
}

function pilotctl(env, ...args) {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [PILOTCTL, '--json', ...args],
      { env: { ...process.env, ...env } },
      (error, out, err) =>
        error === null
          ? resolve(JSON.parse(out).data)
          : reject(new Error(`pilotctl ${args[0]}: ${err || out}`)),
    );
  });
}

const dir = mkdtempSync(join(tmpdir(), 'pilot-idle-bench-'));
const store = new SqliteDirectoryStore({ path: join(dir, 'registry.db') });
// The registry serves the daemon's lookups as fast as it asks (its default: 100 a second per connection).
const fast = { perSecond: 10_000, burst: 10_000 };
const server = await startDirectoryServer({
  handler: new RegistryHandler(store),
  port: 0,
  verifyWorkers: 0,
  connectionRate: fast,
  sourceRate: fast,
});
const beacon = await Beacon.start({ host: '127.0.0.1', port: 0 });
const daemonEnv = Object.fromEntries(
  (process.env.BENCH_DAEMON_ENV ?? '')
    .split(' ')
    .filter(Boolean)
    .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
);
const env = { ...daemonEnv, PILOT_HOME: join(dir, 'home'), PILOT_SOCKET: join(dir, 'pilot.sock') };
const budgets = Object.entries({
  rate: 2000,
  burst: 2000,
  'per-source-rate': 2000,
  'per-source-burst': 2000,
  'in-flight': 256,
  queue: 256,
}).flatMap(([name, value]) => [`--budget-lookup-${name}`, String(value)]);
const started = await pilotctl(
  env,
  'daemon',
  'start',
  '--registry',
  `127.0.0.1:${server.port}`,
  '--beacon',
  `127.0.0.1:${beacon.address().port}`,
  '--listen',
  '127.0.0.1:0',
  '--public',
  '--log-level',
  process.env.BENCH_LOG_LEVEL ?? 'error',
  ...budgets,
);
const pid = started.pid;
let child;
try {
  const driver = await Driver.connect(env.PILOT_SOCKET);
  const info = () => driver.info({ timeoutMs: 30_000 });
  const port = Number((await info()).udp_listen.split(':').pop());

  // The peers: keys from the child, registered in the registry's store (public, so that the
  // daemon's lookups see them), their node IDs back to the child, which signs its PILAs with them.
  child = fork(fileURLToPath(new URL('./idle-peers.mjs', import.meta.url)), [String(TUNNELS)], {
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const replies = [];
  const waiting = [];
  child.on('message', (message) => {
    const wake = waiting.shift();
    if (wake === undefined) replies.push(message);
    else wake(message);
  });
  const next = () =>
    replies.length > 0 ? Promise.resolve(replies.shift()) : new Promise((resolve) => waiting.push(resolve));
  const ask = (message) => {
    child.send(message);
    return next();
  };
  const { publicKeys } = await next();
  const ids = new Uint32Array(TUNNELS);
  const now = Date.now();
  store.transaction(() => {
    for (let i = 0; i < TUNNELS; i++) {
      const node = store.createNode(
        {
          publicKey: Buffer.from(publicKeys.subarray(i * 32, i * 32 + 32)).toString('base64'),
          owner: null,
          listenAddr: null,
          observedAddr: null,
          lanAddrs: [],
          version: null,
          freshOnly: false,
          now,
        },
        1,
        0xffff_fffe,
      );
      store.updateNode(node.nodeId, { public: true });
      ids[i] = node.nodeId;
    }
  });
  await ask({ ids });

  // At rest: registered, nothing else, 10 s after start.
  await sleep(10_000);
  const rest = rssOf(pid);
  console.error(`daemon pid ${pid} at rest: RSS ${rest.rss.toFixed(1)} MiB (load ${load()})`);

  const keyingStarted = performance.now();
  // `health` counts the daemon's tunnels (a peer enters its table only once its PILA verified); it
  // is cheaper than `info`, which lists peers (at most 1 000 of them).
  const tunnels = async () => (await driver.health({ timeoutMs: 30_000 })).peers ?? 0;
  // The daemon answers each PILA that keys a tunnel with its own: the peers count those (asking the
  // daemon for its peer list all the time would be work a resting daemon does not do).
  for (let at = 0; at < TUNNELS; at += BATCH) {
    const count = Math.min(BATCH, TUNNELS - at);
    for (let attempt = 0; ; attempt++) {
      await ask({ pilas: { port, from: at, count } });
      let heard = 0;
      for (let waited = 0; waited < 3000 && heard < at + count; waited += 20) {
        await sleep(20);
        ({ pilasHeard: heard } = await ask({ pilasHeard: true }));
      }
      // A datagram lost on the loaded loopback: the batch again (keyed peers ignore a repeat).
      if (heard >= at + count || (await tunnels()) >= at + count) break;
      if (attempt > 50) throw new Error(`keying stalled at ${await tunnels()} peers`);
    }
  }
  const keyedSeconds = (performance.now() - keyingStarted) / 1000;
  const { ready } = await ask({ keepalives: { port, everyMs: 15_000 } });
  if (!ready) throw new Error('the peers never heard the daemon’s PILA');
  const peak = rssOf(pid);
  console.error(
    `keyed ${TUNNELS} in ${keyedSeconds.toFixed(1)} s; RSS ${peak.rss.toFixed(1)} MiB (load ${load()})`,
  );

  // Idle: the keepalives of both sides, nothing else; RSS every 5 s.
  const samples = [];
  for (let s = 0; s < SETTLE_S; s += 5) {
    await sleep(5000);
    samples.push(rssOf(pid));
    console.error(`  +${s + 5} s: RSS ${samples.at(-1).rss.toFixed(1)} MiB (load ${load()})`);
  }
  if (process.env.BENCH_SNAPSHOT) {
    // With BENCH_DAEMON_ENV="NODE_OPTIONS=--heapsnapshot-signal=SIGUSR2": a heap snapshot of the daemon.
    process.kill(pid, 'SIGUSR2');
    await sleep(Number(process.env.BENCH_SNAPSHOT) * 1000);
  }
  const { sealedHeard } = await ask({ count: { expect: TUNNELS, ms: 30_000 } });
  const end = (await info()).authenticated_peers;
  const last = samples.at(-1);
  const fmt = (n) => n.toFixed(1);
  console.log(
    `\n@pilot/cli idle-tunnels bench: a daemon (pilotctl daemon start) holding ${TUNNELS} idle tunnels`,
  );
  console.log('| | at rest | keyed | idle, last | idle, min–max | per tunnel (last) |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  const row = (what, key) => {
    const values = samples.map((s) => s[key]);
    console.log(
      `| daemon ${what}, MiB | ${fmt(rest[key])} | ${fmt(peak[key])} | ${fmt(last[key])} | ${fmt(Math.min(...values))}–${fmt(Math.max(...values))} | ${(((last[key] - rest[key]) * MiB) / TUNNELS).toFixed(0)} B |`,
    );
  };
  row('RSS', 'rss');
  row('anonymous RSS', 'anon');
  console.log(
    `authenticated peers at the end: ${end}; keyed in ${keyedSeconds.toFixed(1)} s; ` +
      `daemon keepalive frames the peers heard: ${sealedHeard}; idle ${SETTLE_S} s; load ${load()}`,
  );
  console.log(`target: daemon RSS under 100 MiB with ${TUNNELS} idle tunnels (last: ${fmt(last.rss)} MiB)`);
  await driver.close();
} finally {
  child?.send({ exit: true });
  // `pilotctl daemon stop` (SIGTERM if that fails).
  await pilotctl(env, 'daemon', 'stop').catch(() => {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {}
  });
  await beacon.close();
  await server.close();
  store.close();
  if (process.env.BENCH_KEEP) console.error(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
