// pnpm bench: the memory of idle tunnels. One TunnelManager on a UdpTransport (as in the daemon), in
// a process of its own, takes BENCH_TUNNELS (default 10 000) peers played by a child process
// (bench/idle-peers.mjs): each peer sends a signed PILA, the manager verifies it against a
// map-backed directory, derives the tunnel key and answers with its own PILA; then every tunnel
// carries traffic both ways once (the peer seals an empty keepalive to the manager, the manager
// seals one to each peer), so each has used its sealer and an opener, as live tunnels have. The
// manager process's RSS and heap are read after a forced GC before the first PILA and once every
// peer is keyed and has exchanged its frames: the peers' keys and frames live in the child, so the
// figures are those of a process that only holds the tunnels (plus Node and the modules).
// Run with --expose-gc (the script does: `node --expose-gc bench/idle-tunnels.mjs`).
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { generateIdentity } from '@pilot/crypto';
import { UdpTransport } from '@pilot/transport/node';
import { TunnelManager } from '../dist/index.js';

const TUNNELS = Number(process.env.BENCH_TUNNELS ?? 10_000);
const BATCH = 256;
const MiB = 1024 * 1024;
const gc = globalThis.gc ?? (() => {});
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function memory() {
  gc();
  gc();
  const used = process.memoryUsage();
  return {
    rss: used.rss / MiB,
    heap: used.heapUsed / MiB,
    external: (used.external + used.arrayBuffers) / MiB,
  };
}

// The peers (node IDs 2..TUNNELS+1) in a child process; it sends their Ed25519 public keys first.
const child = fork(fileURLToPath(new URL('./idle-peers.mjs', import.meta.url)), [String(TUNNELS)], {
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
const keyOf = (node) => {
  const at = (node - 2) * 32;
  return node >= 2 && node < TUNNELS + 2 ? publicKeys.subarray(at, at + 32) : undefined;
};

const manager = new TunnelManager({
  identity: generateIdentity(),
  // New bytes per lookup, as a registry's answer: the manager's own key cache decides what it keeps.
  directory: {
    publicKey: async (node) => {
      const key = keyOf(node);
      return key === undefined ? undefined : Uint8Array.from(key);
    },
    resolve: async () => ({}),
  },
  keepaliveMs: 3_600_000, // the bench sends its keepalive round itself
});
await manager.bind({ host: '127.0.0.1', port: 0 });
const transport = await UdpTransport.create({ link: manager, localAddress: { network: 0, node: 1 } });
manager.start(1);
const port = manager.udpAddress.port;

const before = memory();
const started = performance.now();
const stat = (name) => manager.stats[name] ?? 0;
for (let at = 0; at < TUNNELS; at += BATCH) {
  const count = Math.min(BATCH, TUNNELS - at);
  // A datagram lost on the loaded loopback is sent again until its peer is keyed.
  for (let attempt = 0; stat('keyed') < at + count; attempt++) {
    if (attempt % 20 === 0) await ask({ pilas: { port, from: at, count } });
    await sleep(10);
  }
}
const keyedSeconds = (performance.now() - started) / 1000;

// Traffic both ways on every tunnel: the peers' sealed keepalives (the manager opens them: an opener
// per tunnel), then the manager's keepalive round (its sealer per tunnel; the child counts them).
const opened = () => stat('keepalive_received');
const { ready } = await ask({ keepalives: { port } });
if (!ready) throw new Error('the peers never heard the manager’s PILA');
for (let waited = 0; waited < 10_000 && opened() < TUNNELS; waited += 50) await sleep(50);
manager.keepaliveNow();
const { sealedHeard } = await ask({ count: { expect: TUNNELS, ms: 10_000 } });
const after = memory();
const authenticated = manager.peers().filter((p) => p.authenticated).length;

child.send({ exit: true });
await transport.close();
await manager.close();

const fmt = (n, digits = 1) => n.toFixed(digits);
console.log(
  `\n@pilot/tunnel bench: ${TUNNELS} idle tunnels in one TunnelManager (${fmt(keyedSeconds)} s to key them all)`,
);
console.log('| | before | with the tunnels | per tunnel |');
console.log('| --- | --- | --- | --- |');
const row = (what, a, b) =>
  console.log(`| ${what}, MiB | ${fmt(a)} | ${fmt(b)} | ${fmt(((b - a) * MiB) / TUNNELS, 0)} B |`);
row('process RSS', before.rss, after.rss);
row('JS heap used', before.heap, after.heap);
row('external + array buffers', before.external, after.external);
console.log(
  `authenticated peers: ${authenticated}; frames opened from peers: ${opened()}; sealed keepalives that reached the peers: ${sealedHeard}`,
);
console.log(`target: RSS under 100 MiB with ${TUNNELS} tunnels (this process: ${fmt(after.rss)} MiB)`);
