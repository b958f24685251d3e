// pnpm bench: the memory of idle tunnels. One TunnelManager on a UdpTransport (as in the daemon)
// takes BENCH_TUNNELS (default 10 000) peers: each sends it a signed PILA from one loopback socket,
// the manager verifies it against a map-backed directory, derives the tunnel key, answers with its
// own PILA, and keeps the peer (keys, replay window, path, counters). The process's RSS and heap
// are read after a forced GC before the first PILA and once every peer is authenticated; the peers'
// PILAs are made beforehand (only their bytes are kept), so the delta is the manager's.
// Run with --expose-gc (the script does: `node --expose-gc bench/idle-tunnels.mjs`).
import { createSocket } from 'node:dgram';
import { createAuthKeyExchange, generateIdentity, generateX25519KeyPair } from '@pilot/crypto';
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

// The peers: node IDs 2..TUNNELS+1, their registry keys and their PILAs (bytes only).
const keys = new Map();
const pilas = [];
for (let i = 0; i < TUNNELS; i++) {
  const node = i + 2;
  const identity = generateIdentity();
  keys.set(node, identity.publicKey);
  pilas.push(createAuthKeyExchange(identity, node, generateX25519KeyPair().publicKey));
}

const manager = new TunnelManager({
  identity: generateIdentity(),
  // New bytes per lookup, as a registry's answer: the manager's own key cache decides what it keeps.
  directory: {
    publicKey: async (node) => (keys.has(node) ? Uint8Array.from(keys.get(node)) : undefined),
    resolve: async () => ({}),
  },
  keepaliveMs: 20_000,
});
const transport = await UdpTransport.create({
  host: '127.0.0.1',
  port: 0,
  codec: manager,
  learnPeers: false,
  localAddress: { network: 0, node: 1 },
});
manager.attach(transport, 1);
const peer = createSocket('udp4');
await new Promise((resolve) => peer.bind(0, '127.0.0.1', resolve));
peer.on('message', () => {}); // the manager's answering PILAs and keepalives
const port = transport.udpAddress.port;

const before = memory();
const started = performance.now();
const keyed = () => manager.stats.keyed ?? 0;
for (let at = 0; at < TUNNELS; at += BATCH) {
  const batch = pilas.slice(at, at + BATCH);
  // A datagram lost on the loaded loopback is sent again until its peer is keyed.
  for (let attempt = 0; keyed() < at + batch.length; attempt++) {
    if (attempt % 20 === 0) for (const frame of batch) peer.send(frame, port, '127.0.0.1');
    await sleep(10);
  }
}
const seconds = (performance.now() - started) / 1000;
const after = memory();
const authenticated = manager.peers().filter((p) => p.authenticated).length;

await manager.close();
await transport.close();
await new Promise((resolve) => peer.close(resolve));

const fmt = (n, digits = 1) => n.toFixed(digits);
console.log(
  `\n@pilot/tunnel bench: ${TUNNELS} idle tunnels in one TunnelManager (${fmt(seconds)} s to key them all)`,
);
console.log('| | before | with the tunnels | per tunnel |');
console.log('| --- | --- | --- | --- |');
const row = (what, a, b) =>
  console.log(`| ${what}, MiB | ${fmt(a)} | ${fmt(b)} | ${fmt(((b - a) * MiB) / TUNNELS, 0)} B |`);
row('process RSS', before.rss, after.rss);
row('JS heap used', before.heap, after.heap);
row('external + array buffers', before.external, after.external);
console.log(`authenticated peers: ${authenticated}; target: RSS under 100 MiB with ${TUNNELS} tunnels`);
