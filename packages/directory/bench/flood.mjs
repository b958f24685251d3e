// Registry flood (issue 15, scenario 5): the victim is a registry server in its own process
// (bench/flood-server.mjs), the attacker another (bench/flood-attacker.mjs: slow connections, a
// register flood, a network-ID flood), and a legitimate node in this process keeps sending signed
// heartbeats and measures how long each takes. Three runs, same machine: "before" (issue 15's
// budgets lifted), "budgets" (only its first round: frame deadline, buffered bytes, registrations per
// IP, network creation) and "after" (the defaults: also accept shedding and rate, connect rate per IP,
// register hang-up, budgets checked before signatures). The server also reports its event-loop
// delay; PILOT_FLOOD_PROF=<dir> writes its CPU profile (<mode>.cpuprofile) there.
//
//   node bench/flood.mjs                    10,000 slow connections holding 64 KiB each, 20,000
//                                           registrations, 2,000 network creations, 15 s under flood
//   node bench/flood.mjs --json             one JSON document instead of the table
//   PILOT_FLOOD_SLOW=2000 PILOT_FLOOD_HELD=16384 PILOT_FLOOD_SECONDS=12 node bench/flood.mjs
//                                           (the CI test's size)
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createSigner, DirectoryClient } from '../dist/index.js';

const SLOW = Number(process.env.PILOT_FLOOD_SLOW ?? 10_000);
const HELD = Number(process.env.PILOT_FLOOD_HELD ?? 65_536);
const REGISTERS = Number(process.env.PILOT_FLOOD_REGISTERS ?? 20_000);
const NETWORKS = Number(process.env.PILOT_FLOOD_NETWORKS ?? 2_000);
const SECONDS = Number(process.env.PILOT_FLOOD_SECONDS ?? 15);
const MODES = (process.env.PILOT_FLOOD_MODES ?? 'before,budgets,after').split(',');
const json = process.argv.includes('--json');
const here = (name) => fileURLToPath(new URL(name, import.meta.url));

function lines(child, onLine) {
  let buffered = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    buffered += chunk;
    for (let at = buffered.indexOf('\n'); at >= 0; at = buffered.indexOf('\n')) {
      onLine(buffered.slice(0, at));
      buffered = buffered.slice(at + 1);
    }
  });
}

function startServer(mode) {
  // PILOT_FLOOD_PROF=<dir>: the server writes a CPU profile there (what takes its event loop).
  const prof = process.env.PILOT_FLOOD_PROF;
  const flags =
    prof === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${prof}`, `--cpu-prof-name=${mode}.cpuprofile`];
  const child = spawn(process.execPath, [...flags, here('./flood-server.mjs'), mode], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const waiting = [];
  let port;
  const ready = new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`flood server exited (${code})`)));
    lines(child, (line) => {
      if (line.startsWith('PORT ')) {
        port = Number(line.slice(5));
        resolve();
      } else waiting.shift()?.(line);
    });
  });
  const ask = (what) =>
    new Promise((resolve) => {
      waiting.push(resolve);
      child.stdin.write(`${what}\n`);
    });
  return {
    child,
    ready,
    get port() {
      return port;
    },
    rss: async () => Number((await ask('rss')).slice(4)),
    stats: async () => JSON.parse((await ask('stats')).slice(6)),
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.stdin.end();
      }),
  };
}

function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function run(mode) {
  const server = startServer(mode);
  await server.ready;
  const port = server.port;
  // The legitimate node: registered, then one signed heartbeat after another (10 ms apart).
  const signer = createSigner();
  const client = await DirectoryClient.connect({ host: '127.0.0.1', port });
  const { nodeId } = await client.register(signer, { listenAddr: ':4000' });
  const latencies = [];
  let failures = 0;
  let beating = true;
  let measuring = false;
  const beats = (async () => {
    while (beating) {
      const started = performance.now();
      try {
        await client.heartbeat(signer, nodeId);
        if (measuring) latencies.push(performance.now() - started);
      } catch {
        if (measuring) failures++;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, 500));
  const rssBefore = await server.rss();
  measuring = true;
  const attacker = spawn(
    process.execPath,
    [here('./flood-attacker.mjs'), port, SLOW, HELD, REGISTERS, NETWORKS].map(String),
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  let attack;
  const attackDone = new Promise((resolve, reject) => {
    lines(attacker, (line) => {
      attack = JSON.parse(line);
      resolve(attack);
    });
    attacker.once('exit', (code) => {
      if (attack === undefined) reject(new Error(`flood attacker exited (${code}) before reporting`));
    });
  });
  const started = performance.now();
  let rssPeak = rssBefore;
  while (performance.now() - started < SECONDS * 1000 || attack === undefined) {
    rssPeak = Math.max(rssPeak, await server.rss());
    await Promise.race([attackDone, new Promise((resolve) => setTimeout(resolve, 250))]);
  }
  // PILOT_FLOOD_DRAIN=1: then wait (up to 10 s) until no partial frame is held any more, so that
  // every slow connection has met its deadline (the CI test checks they all did).
  if (process.env.PILOT_FLOOD_DRAIN === '1') {
    const until = performance.now() + 10_000;
    while ((await server.stats()).bufferedBytes > 0 && performance.now() < until)
      await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const rssEnd = await server.rss();
  const stats = await server.stats();
  measuring = false;
  beating = false;
  await beats;
  client.close();
  await new Promise((resolve) => {
    attacker.once('exit', resolve);
    attacker.stdin.end();
  });
  await server.stop();
  latencies.sort((a, b) => a - b);
  return {
    mode,
    rssBeforeMiB: rssBefore / 2 ** 20,
    rssPeakMiB: rssPeak / 2 ** 20,
    rssEndMiB: rssEnd / 2 ** 20,
    heartbeats: latencies.length,
    heartbeatFailures: failures,
    p50ms: percentile(latencies, 50),
    p99ms: percentile(latencies, 99),
    attack,
    server: stats,
  };
}

const results = [];
for (const mode of MODES) results.push(await run(mode));
if (json) {
  process.stdout.write(
    `${JSON.stringify({ slow: SLOW, held: HELD, registers: REGISTERS, networks: NETWORKS, seconds: SECONDS, results }, null, 2)}\n`,
  );
} else {
  const f = (n, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '-');
  console.log(
    `registry flood: ${SLOW} slow connections holding ${HELD} B each, ${REGISTERS} registrations, ${NETWORKS} network creations; ${SECONDS} s`,
  );
  console.log(
    'mode    RSS before  RSS peak  RSS end   heartbeats  p50 ms  p99 ms  failed  registered  networks  slow alive  loop p99/max ms  shed at accept',
  );
  for (const r of results) {
    console.log(
      `${r.mode.padEnd(7)} ${f(r.rssBeforeMiB).padStart(8)} MiB ${f(r.rssPeakMiB).padStart(6)} MiB ${f(r.rssEndMiB).padStart(6)} MiB ${String(r.heartbeats).padStart(10)} ${f(r.p50ms, 2).padStart(7)} ${f(r.p99ms, 2).padStart(7)} ${String(r.heartbeatFailures).padStart(7)} ${String(r.attack.registered).padStart(11)} ${String(r.attack.created).padStart(9)} ${String(r.attack.alive).padStart(11)} ${`${f(r.server.loopDelayP99Ms)}/${f(r.server.loopDelayMaxMs)}`.padStart(16)} ${String((r.server.acceptThrottled ?? 0) + (r.server.connectRateRefused ?? 0)).padStart(15)}`,
    );
  }
  const before = results[0];
  const after = results.at(-1);
  if (before !== undefined && after !== undefined && before !== after)
    console.log(
      `ratio after/before: RSS growth ${f((after.rssPeakMiB - after.rssBeforeMiB) / (before.rssPeakMiB - before.rssBeforeMiB), 3)}, p99 ${f(after.p99ms / before.p99ms, 2)}`,
    );
}
