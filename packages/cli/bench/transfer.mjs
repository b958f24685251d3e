// pnpm bench: what a user runs, `pilotctl bench` and `pilotctl send-file` (each a fresh pilotctl
// process) between two daemons on loopback, against the transport core's own encrypted stream
// (one @pilot/transport stream with SealedCodec, this process to a child) measured in the same run.
//   BENCH_MIB      MiB per transfer (default 32)
//   BENCH_REPEATS  runs of each kind, interleaved (default 3); the table shows medians
//   BENCH_ONLY     e.g. "transport,send-file" (kinds: transport, transport-echo, transport-pmtud,
//                  transport-echo-pmtud, bench, send-file); the -pmtud kinds are the core with path MTU
//                  discovery (RFC 8899) up to the largest datagram (LOOPBACK_DATAGRAM_CEILING, 64 KiB),
//                  what daemons that negotiated large-datagrams use on loopback
//   BENCH_PROF     a directory: --cpu-prof of both daemons and of each pilotctl
//   BENCH_DAEMON_OPTIONS  JSON merged into both daemons' options, for an A/B of a daemon feature
//                  (e.g. '{"aeadChecksumFree":false}': the packet CRC inside PILS as before)
// Besides the wall time of each pilotctl process (what a user waits for), the rate pilotctl reports
// itself (from the open stream on, without node's start-up and the dial) is printed.
// The daemons' RSS is sampled every 100 ms during each transfer; the peak is printed, and the peak of
// each quarter of the transfer (a 1 GiB send-file: BENCH_MIB=1024 BENCH_ONLY=send-file BENCH_REPEATS=1).
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOOPBACK_DATAGRAM_CEILING } from '@pilot/daemon';
import { RegistryHandler, startDirectoryServer } from '@pilot/directory/server';
import { SqliteDirectoryStore } from '@pilot/directory/sqlite';
import { Beacon } from '@pilot/nat';
import { SealedCodec, UdpTransport } from '@pilot/transport/node';

const PEER = fileURLToPath(new URL('./peer.mjs', import.meta.url));
// The installed pilotctl: the bundle (scripts/bundle.mjs).
const PILOTCTL = fileURLToPath(new URL('../dist/pilotctl.cjs', import.meta.url));
// Makes each pilotctl print its CPU time on exit (its share of a transfer's cost).
const CPU_AT_EXIT = fileURLToPath(new URL('./cpu-at-exit.cjs', import.meta.url));
const MiB = 1024 * 1024;
const SIZE_MIB = Number(process.env.BENCH_MIB ?? 32);
const SIZE = SIZE_MIB * MiB;
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const KEY = randomBytes(32);

class Child {
  constructor(child) {
    this.child = child;
    this.waiting = [];
    this.exited = new Promise((resolve) => child.once('exit', resolve));
    child.stdout.setEncoding('utf8');
    let buffered = '';
    child.stdout.on('data', (text) => {
      buffered += text;
      for (let at = buffered.indexOf('\n'); at >= 0; at = buffered.indexOf('\n')) {
        const line = buffered.slice(0, at);
        buffered = buffered.slice(at + 1);
        this.waiting.shift()?.(JSON.parse(line));
      }
    });
  }

  static async start(...args) {
    const prof =
      process.env.BENCH_PROF && args[0] === 'daemon'
        ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROF]
        : [];
    // The daemons run with the node flags `pilotctl daemon start` gives them (DAEMON_NODE_FLAGS in
    // src/commands/daemon.ts); BENCH_DAEMON_FLAGS replaces them ("" = node's defaults).
    const flags =
      args[0] === 'daemon'
        ? (process.env.BENCH_DAEMON_FLAGS ?? '--max-semi-space-size=2').split(' ').filter(Boolean)
        : [];
    const child = new Child(
      spawn(process.execPath, [...prof, ...flags, PEER, ...args], { stdio: ['pipe', 'pipe', 'inherit'] }),
    );
    child.ready = await child.next();
    return child;
  }

  next() {
    return Promise.race([
      new Promise((resolve) => this.waiting.push(resolve)),
      this.exited.then((code) => Promise.reject(new Error(`child exited (${code})`))),
    ]);
  }

  async stat() {
    const reply = this.next();
    this.child.stdin.write('stat\n');
    return reply;
  }

  async stop() {
    this.child.stdin.end();
    await this.exited;
  }
}

/**
 * Samples the children's RSS every 100 ms until stopped; resolves to the peaks (MiB) over the whole
 * transfer and over each quarter of it (a leak keeps growing from quarter to quarter; a bounded
 * buffer does not).
 */
function watchRss(children) {
  const samples = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const stats = await Promise.all(children.map((c) => c.stat()));
      samples.push(stats.map((s) => s.rssMiB));
      if (process.env.BENCH_MEM_DETAIL && samples.length % 10 === 0) {
        const at = (s) =>
          `rss ${s.rssMiB.toFixed(0)} heap ${s.heapMiB.toFixed(0)} ext ${s.externalMiB.toFixed(0)}`;
        process.stderr.write(`  A: ${at(stats[0])} | B: ${at(stats[1])}\n`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return async () => {
    running = false;
    await loop;
    const peak = (list) => children.map((_, i) => Math.max(0, ...list.map((sample) => sample[i])));
    const quarter = (q) =>
      samples.slice(Math.floor((samples.length * q) / 4), Math.ceil((samples.length * (q + 1)) / 4));
    return { all: peak(samples), quarters: [0, 1, 2, 3].map((q) => peak(quarter(q))) };
  };
}

/** Runs pilotctl; resolves to its JSON data and the CPU milliseconds it used. */
function pilotctl(env, ...args) {
  const prof = process.env.BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROF] : [];
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [...prof, '--require', CPU_AT_EXIT, PILOTCTL, '--json', ...args],
      { env: { ...process.env, ...env }, maxBuffer: 16 * MiB, timeout: 600_000 },
      (error, stdout, stderr) => {
        if (error !== null)
          reject(new Error(`pilotctl ${args.join(' ')}: ${stderr || stdout || error.message}`));
        else {
          const cpuMs = Number(/@bench-cpu-ms ([\d.]+)/.exec(stderr)?.[1] ?? Number.NaN);
          resolve({ data: JSON.parse(stdout).data, cpuMs });
        }
      },
    );
  });
}

async function startNodes(dir) {
  const store = new SqliteDirectoryStore({ path: join(dir, 'registry.db') });
  const server = await startDirectoryServer({
    handler: new RegistryHandler(store),
    port: 0,
    verifyWorkers: 0,
  });
  const beacon = await Beacon.start({ host: '127.0.0.1', port: 0 });
  const options = (name) =>
    JSON.stringify({
      home: join(dir, name),
      registry: `127.0.0.1:${server.port}`,
      beacon: `127.0.0.1:${beacon.address().port}`,
      listen: '127.0.0.1:0',
      socket: join(dir, `${name}.sock`),
      hostname: name,
      public: true,
      logLevel: 'error',
      ...JSON.parse(process.env.BENCH_DAEMON_OPTIONS ?? '{}'),
    });
  const a = await Child.start('daemon', options('alpha'));
  const b = await Child.start('daemon', options('beta'));
  const env = { PILOT_SOCKET: a.ready.socket, PILOT_HOME: join(dir, 'ctl') };
  // Warm the tunnel (key exchange) so that every measured run finds it up.
  await pilotctl(env, 'bench', String(b.ready.nodeId), '0.01');
  return {
    a,
    b,
    env,
    target: String(b.ready.nodeId),
    async close() {
      await a.stop();
      await b.stop();
      await beacon.close();
      await server.close();
      store.close();
    },
  };
}

/** One stream to a child's sink (`sink`), or to its echo and back (`echo`: what `pilotctl bench` does). */
async function transportStream(mode) {
  const peer = await Child.start(mode, KEY.toString('hex'));
  const transport = await UdpTransport.create({
    localAddress: { network: 0, node: 1 },
    codec: new SealedCodec({ key: KEY, localNode: 1 }),
  });
  const B = { network: 0, node: 2 };
  transport.addPeer(B, { address: '127.0.0.1', port: peer.ready.port });
  const stream = await transport.connect(B, 1000);
  if (mode.endsWith('-pmtud')) {
    // Both ends probe (the child once the stream arrives); the transfer starts at the settled size.
    transport.probePathMtu(B, LOOPBACK_DATAGRAM_CEILING);
    while (transport.endpoint.pathMtuInfo(B)?.state !== 'complete')
      await new Promise((resolve) => setTimeout(resolve, 5));
  }
  stream.on('error', () => {});
  const chunk = new Uint8Array(64 * 1024).fill(7);
  const cpuBefore = [process.cpuUsage(), (await peer.stat()).cpuMs];
  const start = performance.now();
  let received = 0;
  const done =
    mode === 'echo'
      ? new Promise((resolve) =>
          stream.on('data', (data) => {
            received += data.length;
            if (received >= SIZE) resolve();
          }),
        )
      : once(stream, 'data');
  for (let sent = 0; sent < SIZE; sent += chunk.length) {
    if (!stream.write(chunk)) await once(stream, 'drain');
  }
  stream.end();
  await done;
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpuBefore[0]);
  const cpu = [(used.user + used.system) / 1000, (await peer.stat()).cpuMs - cpuBefore[1]];
  await transport.close();
  await peer.stop();
  // The two ends' CPU per MiB, beside the daemons' (sender: this process; receiver: the child).
  return { rate: SIZE / MiB / seconds, cpu: cpu.map((ms) => ms / SIZE_MIB) };
}

async function measured(nodes, body) {
  const stop = watchRss([nodes.a, nodes.b]);
  const before = await Promise.all([nodes.a.stat(), nodes.b.stat()]);
  const start = performance.now();
  const { cpuMs, data } = await body();
  const seconds = (performance.now() - start) / 1000;
  // As pilotctl times it itself: from the open stream to the last byte back (bench) or the last ACK
  // (send-file), without its process start and dial (the core's rows exclude their connect too).
  const inner = data.total_duration_ms !== undefined ? data.total_duration_ms / 1000 : data.seconds;
  const after = await Promise.all([nodes.a.stat(), nodes.b.stat()]);
  const peaks = await stop();
  return {
    rate: SIZE / MiB / seconds,
    innerRate: SIZE / MiB / inner,
    // Daemon A, daemon B, then pilotctl (its start-up included).
    cpu: [...after.map((s, i) => (s.cpuMs - before[i].cpuMs) / SIZE_MIB), cpuMs / SIZE_MIB],
    rssBefore: before.map((s) => s.rssMiB),
    rssPeak: peaks.all,
    rssQuarters: peaks.quarters,
  };
}

const CASES = {
  transport: () => transportStream('sink'),
  'transport-echo': () => transportStream('echo'),
  'transport-pmtud': () => transportStream('sink-pmtud'),
  'transport-echo-pmtud': () => transportStream('echo-pmtud'),
  // The wall time of the whole pilotctl process (its start included), as a user sees it.
  bench: (nodes) => measured(nodes, () => pilotctl(nodes.env, 'bench', nodes.target, String(SIZE_MIB))),
  'send-file': (nodes, file) => measured(nodes, () => pilotctl(nodes.env, 'send-file', nodes.target, file)),
};
// Kinds of the other part of `pnpm bench` (cold-start) are not ours; with none of ours, nothing to do.
const only = (process.env.BENCH_ONLY?.split(',') ?? Object.keys(CASES)).filter((name) => name in CASES);
if (only.length === 0) process.exit(0);
const dir = mkdtempSync(join(tmpdir(), 'pilot-cli-bench-'));
const file = join(dir, 'payload.bin');
{
  const fd = openSync(file, 'w');
  const block = randomBytes(MiB);
  for (let i = 0; i < SIZE_MIB; i++) writeSync(fd, block);
  closeSync(fd);
}
const loadBefore = loadavg()[0];
const nodes = await startNodes(dir);
const runs = Object.fromEntries(Object.keys(CASES).map((name) => [name, []]));
try {
  for (let i = 0; i < REPEATS; i++) {
    for (const name of only) runs[name].push(await CASES[name](nodes, file));
    process.stderr.write(`run ${i + 1}/${REPEATS} done\n`);
  }
} finally {
  await nodes.close();
  rmSync(dir, { recursive: true, force: true });
}

const fmt = (n, digits = 1) => (n === undefined || Number.isNaN(n) ? '–' : n.toFixed(digits));
const median = (values) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)];
const med = (name, pick) => (runs[name].length === 0 ? undefined : median(runs[name].map(pick)));
const base = med('transport', (r) => r.rate);
const echoBase = med('transport-echo', (r) => r.rate);
// The fair comparison for daemons that negotiated large datagrams: the core at the same size.
const baseLarge = med('transport-pmtud', (r) => r.rate);
const echoBaseLarge = med('transport-echo-pmtud', (r) => r.rate);
const large = `${(LOOPBACK_DATAGRAM_CEILING / 1024).toFixed(0)} KiB`;
console.log(
  `\n@pilot/cli bench: ${SIZE_MIB} MiB per transfer, median of ${REPEATS}, two daemons on loopback; load average ${loadBefore.toFixed(1)} → ${loadavg()[0].toFixed(1)}`,
);
console.log(
  `| | MiB/s (MB/s) | every run, MiB/s | ratio to the transport (one way) | ratio to the transport echo | ratio to the core at ${large} datagrams, one way / echo | MiB/s as pilotctl times it (no process start, no dial): ratio to the transport (one way); to the ${large} core, one way / echo | CPU ms/MiB daemon A / B (pilotctl) | daemon RSS MiB A / B: before → peak (peak of each quarter) |`,
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const name of only) {
  const rate = med(name, (r) => r.rate);
  const every = runs[name].map((r) => fmt(r.rate)).join(' / ');
  const inner = med(name, (r) => r.innerRate);
  const core = name.startsWith('transport');
  const cpuOf = `${fmt(med(name, (r) => r.cpu[0]))} / ${fmt(med(name, (r) => r.cpu[1]))}`;
  const cpu = core
    ? `(sender / receiver ${cpuOf})`
    : `${cpuOf} (pilotctl ${fmt(med(name, (r) => r.cpu[2]))})`;
  // The last run's peaks by quarter of the transfer, e.g. "65 → 170 (150 160 165 170)".
  const rssOf = (i) =>
    `${fmt(
      med(name, (r) => r.rssBefore[i]),
      0,
    )} → ${fmt(Math.max(...runs[name].map((r) => r.rssPeak[i])), 0)} (${runs[name]
      .at(-1)
      .rssQuarters.map((q) => fmt(q[i], 0))
      .join(' ')})`;
  const rss = core ? '' : `${rssOf(0)} / ${rssOf(1)}`;
  const what =
    {
      transport: 'transport core, one SealedCodec stream',
      'transport-echo': 'transport core, to an echo and back',
      'transport-pmtud': `transport core, one stream, path MTU probed (${large} datagrams)`,
      'transport-echo-pmtud': `transport core, echo, path MTU probed (${large} datagrams)`,
    }[name] ?? `pilotctl ${name}`;
  const ratio = (to) => (to === undefined ? '–' : fmt(rate / to, 2));
  console.log(
    `| ${what} | ${fmt(rate)} (${fmt((rate * MiB) / 1e6)}) | ${every} | ${ratio(base)} | ${ratio(echoBase)} | ${ratio(baseLarge)} / ${ratio(echoBaseLarge)} | ${inner === undefined ? '' : `${fmt(inner)}: ${fmt(inner / base, 2)}; ${fmt(inner / baseLarge, 2)} / ${fmt(inner / echoBaseLarge, 2)}`} | ${cpu} | ${rss} |`,
  );
}
