// pnpm bench: streams through two daemons against @pilot/transport alone, both measured in this run.
//   1. goodput of one stream, 64 KiB writes of BENCH_MIB MiB (default 32): app → driver → daemon A
//      → PILS tunnel → daemon B → driver → app (both apps in this process, each daemon a process),
//      against one SealedCodec stream between this process and a child (the transport's own bench);
//   2. the same through B's echo service (port 7), read back here: what `pilotctl bench` does;
//   3. 1-byte echo round trip, p50 and p99, through the daemons (echo port 7; and to an app on B
//      that echoes through its driver, as an MCP call travels) and over the transport.
// A rendezvous (registry on a temp SQLite file + beacon) runs in this process; the daemons are
// public, so no trust handshake is needed. Every figure is the median of BENCH_REPEATS runs
// (default 3), the kinds interleaved, since the 2-core machine is shared; the CPU milliseconds per
// MiB of every process are printed too (the machine's other load changes them less than rates).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { RegistryHandler, startDirectoryServer } from '@pilot/directory/server';
import { SqliteDirectoryStore } from '@pilot/directory/sqlite';
import { Beacon } from '@pilot/nat';
import { SealedCodec, UdpTransport } from '@pilot/transport/node';
import { BENCH_KEY } from './bench-key.mjs';

// BENCH_DAEMON_DIST=<another build>/index.js: compare that build (daemons and driver) with this one.
const { Driver } = await import(
  process.env.BENCH_DAEMON_DIST === undefined
    ? '../dist/driver/index.js'
    : new URL('driver/index.js', pathToFileURL(process.env.BENCH_DAEMON_DIST)).href
);
const PEER = fileURLToPath(new URL('./peer.mjs', import.meta.url));
const MiB = 1024 * 1024;
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const SIZE = Number(process.env.BENCH_MIB ?? 32) * MiB;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2000);
const WRITE = 64 * 1024;
const SINK_PORT = 5000;
const ECHO_PORT = 7;

class Peer {
  constructor(child, ready) {
    this.child = child;
    this.ready = ready;
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
    // BENCH_PROF=<dir>: CPU profiles of the children (node --cpu-prof), written when they exit.
    const prof = process.env.BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROF] : [];
    const child = spawn(process.execPath, [...prof, PEER, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    const peer = new Peer(child, undefined);
    peer.ready = await peer.next();
    return peer;
  }

  next() {
    return Promise.race([
      new Promise((resolve) => this.waiting.push(resolve)),
      this.exited.then((code) => Promise.reject(new Error(`peer exited (${code})`))),
    ]);
  }

  /** CPU milliseconds the child used so far. */
  async cpu() {
    const reply = this.next();
    this.child.stdin.write('cpu\n');
    return (await reply).cpuMs;
  }

  async stop() {
    this.child.stdin.end();
    await this.exited;
  }
}

function cpuMs() {
  const used = process.cpuUsage();
  return (used.user + used.system) / 1000;
}

function median(values) {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Writes `size` bytes in 64 KiB writes, honouring back-pressure. */
async function writeAll(stream, size, write = WRITE) {
  const chunk = new Uint8Array(write).fill(7);
  for (let sent = 0; sent < size; sent += write) {
    if (!stream.write(chunk)) await once(stream, 'drain');
  }
}

/** Resolves when `stream` has delivered `size` bytes. */
function readAll(stream, size) {
  return new Promise((resolve, reject) => {
    let got = 0;
    const onData = (chunk) => {
      got += chunk.length;
      if (got >= size) {
        stream.off('data', onData);
        resolve();
      }
    };
    stream.on('data', onData);
    stream.once('error', reject);
  });
}

async function roundTrips(stream) {
  const samples = [];
  const one = Uint8Array.of(1);
  for (let i = 0; i < ROUNDS; i++) {
    const start = performance.now();
    const reply = once(stream, 'data');
    stream.write(one);
    await reply;
    samples.push(performance.now() - start);
  }
  samples.sort((x, y) => x - y);
  return { p50: samples[Math.floor(ROUNDS * 0.5)], p99: samples[Math.floor(ROUNDS * 0.99)] };
}

// ---- the daemons ----

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
    });
  const a = await Peer.start('daemon', options('alpha'));
  const b = await Peer.start('daemon', options('beta'));
  const driverA = await Driver.connect(a.ready.socket);
  const driverB = await Driver.connect(b.ready.socket);
  const listener = driverB.listen(SINK_PORT);
  await listener.ready;
  const accepted = listener[Symbol.asyncIterator]();
  // Warm the tunnel (key exchange) so that every measured run finds it up.
  const warm = await driverA.dial({ network: 0, node: b.ready.nodeId }, ECHO_PORT, { timeoutMs: 20_000 });
  warm.end();
  return {
    a,
    b,
    driverA,
    target: { network: 0, node: b.ready.nodeId },
    nextAccepted: async () => (await accepted.next()).value,
    async close() {
      await listener.close();
      await driverA.close();
      await driverB.close();
      await a.stop();
      await b.stop();
      await beacon.close();
      await server.close();
      store.close();
    },
  };
}

async function daemonGoodput(nodes) {
  const accepting = nodes.nextAccepted();
  const stream = await nodes.driverA.dial(nodes.target, SINK_PORT);
  const incoming = await accepting;
  const cpu = [cpuMs(), await nodes.a.cpu(), await nodes.b.cpu()];
  const start = performance.now();
  const received = readAll(incoming, SIZE);
  await writeAll(stream, SIZE);
  await received;
  const seconds = (performance.now() - start) / 1000;
  const used = [cpuMs() - cpu[0], (await nodes.a.cpu()) - cpu[1], (await nodes.b.cpu()) - cpu[2]];
  stream.destroy();
  incoming.destroy();
  return { rate: SIZE / MiB / seconds, cpu: used.map((ms) => ms / (SIZE / MiB)) };
}

async function daemonEchoBulk(nodes, write) {
  const stream = await nodes.driverA.dial(nodes.target, ECHO_PORT);
  const cpu = [cpuMs(), await nodes.a.cpu(), await nodes.b.cpu()];
  const start = performance.now();
  const received = readAll(stream, SIZE);
  await writeAll(stream, SIZE, write);
  await received;
  const seconds = (performance.now() - start) / 1000;
  const used = [cpuMs() - cpu[0], (await nodes.a.cpu()) - cpu[1], (await nodes.b.cpu()) - cpu[2]];
  stream.destroy();
  return { rate: SIZE / MiB / seconds, cpu: used.map((ms) => ms / (SIZE / MiB)) };
}

async function daemonLatency(nodes) {
  const stream = await nodes.driverA.dial(nodes.target, ECHO_PORT);
  const result = await roundTrips(stream);
  stream.destroy();
  return result;
}

/** Round trips to an app on B (a driver listener echoing), as an MCP call makes them: 4 IPC hops. */
async function daemonAppLatency(nodes) {
  const accepting = nodes.nextAccepted();
  const stream = await nodes.driverA.dial(nodes.target, SINK_PORT);
  const incoming = await accepting;
  incoming.on('data', (chunk) => incoming.write(chunk));
  const result = await roundTrips(stream);
  stream.destroy();
  incoming.destroy();
  return result;
}

// ---- the transport alone ----

async function transportStream(mode) {
  const peer = await Peer.start('transport', mode);
  const transport = await UdpTransport.create({
    localAddress: { network: 0, node: 1 },
    codec: new SealedCodec({ key: BENCH_KEY, localNode: 1 }),
  });
  const B = { network: 0, node: 2 };
  transport.addPeer(B, { address: '127.0.0.1', port: peer.ready.port });
  const stream = await transport.connect(B, 1000);
  stream.on('error', () => {});
  return {
    peer,
    stream,
    async close() {
      await transport.close();
      await peer.stop();
    },
  };
}

async function transportGoodput() {
  const { peer, stream, close } = await transportStream('sink');
  const cpu = [cpuMs(), await peer.cpu()];
  const start = performance.now();
  const done = once(stream, 'data');
  await writeAll(stream, SIZE);
  stream.end();
  await done;
  const seconds = (performance.now() - start) / 1000;
  const used = [cpuMs() - cpu[0], (await peer.cpu()) - cpu[1]];
  await close();
  return { rate: SIZE / MiB / seconds, cpu: used.map((ms) => ms / (SIZE / MiB)) };
}

async function transportEchoBulk(write) {
  const { stream, close } = await transportStream('echo');
  const start = performance.now();
  const received = readAll(stream, SIZE);
  await writeAll(stream, SIZE, write);
  await received;
  const seconds = (performance.now() - start) / 1000;
  await close();
  return { rate: SIZE / MiB / seconds };
}

async function transportLatency() {
  const { stream, close } = await transportStream('echo');
  const result = await roundTrips(stream);
  await close();
  return result;
}

// ---- the run ----

const SMALL = 4096;
const CASES = {
  tGood: () => transportGoodput(),
  dGood: (nodes) => daemonGoodput(nodes),
  tEcho: () => transportEchoBulk(WRITE),
  dEcho: (nodes) => daemonEchoBulk(nodes, WRITE),
  tEcho4k: () => transportEchoBulk(SMALL),
  dEcho4k: (nodes) => daemonEchoBulk(nodes, SMALL),
  tLat: () => transportLatency(),
  dLat: (nodes) => daemonLatency(nodes),
  dAppLat: (nodes) => daemonAppLatency(nodes),
};
// BENCH_ONLY=dGood,dEcho runs only those (for profiling).
const only = process.env.BENCH_ONLY?.split(',') ?? Object.keys(CASES);
const fmt = (n, digits = 1) => (n === undefined ? '–' : n.toFixed(digits));
const dir = mkdtempSync(join(tmpdir(), 'pilot-daemon-bench-'));
const nodes = await startNodes(dir);
const runs = Object.fromEntries(Object.keys(CASES).map((name) => [name, []]));
try {
  for (let i = 0; i < REPEATS; i++) {
    for (const name of only) runs[name].push(await CASES[name](nodes));
    process.stderr.write(`run ${i + 1}/${REPEATS} done\n`);
  }
} finally {
  await nodes.close();
  rmSync(dir, { recursive: true, force: true });
}

const med = (list, pick) => (list.length === 0 ? undefined : median(list.map(pick)));
const rate = (name) => med(runs[name], (r) => r.rate);
const cpuOf = (name, i) => fmt(med(runs[name], (r) => r.cpu[i]));
const mb = (mib) => (mib === undefined ? '–' : fmt((mib * MiB) / 1e6));
const ratio = (x, y) => (x === undefined || y === undefined ? '–' : fmt(x / y, 2));
const row = (what, d, t) =>
  console.log(`| ${what}, MiB/s (MB/s) | ${fmt(d)} (${mb(d)}) | ${fmt(t)} (${mb(t)}) | ${ratio(d, t)} |`);
console.log(`\n@pilot/daemon bench: ${SIZE / MiB} MiB per transfer, median of ${REPEATS}`);
const each = (name) => runs[name].map((r) => fmt(r.rate)).join(' / ');
console.log(
  `(one stream, every run: ${each('dGood')} through the daemons, ${each('tGood')} transport alone)\n`,
);
console.log('| | through the daemons | transport alone (SealedCodec) | ratio |');
console.log('| --- | --- | --- | --- |');
row('one stream, 64 KiB writes', rate('dGood'), rate('tGood'));
row('echo port 7 and back, 64 KiB writes', rate('dEcho'), rate('tEcho'));
row('echo port 7 and back, 4 KiB writes', rate('dEcho4k'), rate('tEcho4k'));
const p50 = (name) => med(runs[name], (r) => r.p50);
const p99 = (name) => med(runs[name], (r) => r.p99);
console.log(
  `| 1-byte echo RTT p50 / p99, ms | ${fmt(p50('dLat'), 3)} / ${fmt(p99('dLat'), 3)} | ${fmt(p50('tLat'), 3)} / ${fmt(p99('tLat'), 3)} | ${ratio(p50('dLat'), p50('tLat'))} (p50) |`,
);
console.log(
  `| 1-byte RTT to an app on B (driver listener echoing), p50 / p99, ms | ${fmt(p50('dAppLat'), 3)} / ${fmt(p99('dAppLat'), 3)} | ${fmt(p50('tLat'), 3)} / ${fmt(p99('tLat'), 3)} | ${ratio(p50('dAppLat'), p50('tLat'))} (p50) |`,
);
console.log(
  `| CPU ms/MiB, one stream | apps ${cpuOf('dGood', 0)}, daemon A ${cpuOf('dGood', 1)}, daemon B ${cpuOf('dGood', 2)} | sender ${cpuOf('tGood', 0)}, receiver ${cpuOf('tGood', 1)} | |`,
);
console.log(
  `| CPU ms/MiB, echo 64 KiB / 4 KiB | app ${cpuOf('dEcho', 0)} / ${cpuOf('dEcho4k', 0)}, daemon A ${cpuOf('dEcho', 1)} / ${cpuOf('dEcho4k', 1)}, daemon B ${cpuOf('dEcho', 2)} / ${cpuOf('dEcho4k', 2)} | | |`,
);
