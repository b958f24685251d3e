// pnpm bench: Pilot stream vs a Node TCP socket pair on loopback, two processes, plaintext PILT.
// Prints each figure absolute and as a ratio to the TCP baseline measured in the same run.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Endpoint } from '../dist/index.js';
import { UdpTransport } from '../dist/node/index.js';

const PEER = fileURLToPath(new URL('./peer.mjs', import.meta.url));
const MiB = 1024 * 1024;
const SIZE = 64 * MiB;
const ROUNDS = 2000;

async function startPeer(kind, mode) {
  const child = spawn(process.execPath, [PEER, kind, mode], { stdio: ['pipe', 'pipe', 'inherit'] });
  const [line] = await once(child.stdout, 'data');
  return { child, port: JSON.parse(String(line)).port };
}

function stop(peer) {
  peer.child.stdin.end();
  return once(peer.child, 'exit');
}

async function openStream(kind, port) {
  if (kind === 'tcp') {
    const socket = connect({ port, host: '127.0.0.1', noDelay: true });
    await once(socket, 'connect');
    return { stream: socket, close: async () => socket.destroy() };
  }
  const transport = await UdpTransport.create({ localAddress: { network: 0, node: 1 } });
  transport.addPeer({ network: 0, node: 2 }, { host: '127.0.0.1', port });
  const stream = await transport.connect({ network: 0, node: 2 }, 1000);
  return { stream, close: () => transport.close(), transport };
}

async function goodput(kind) {
  const peer = await startPeer(kind, 'sink');
  const { stream, close } = await openStream(kind, peer.port);
  const chunk = new Uint8Array(64 * 1024).fill(7);
  const done = once(stream, 'data');
  const start = performance.now();
  for (let sent = 0; sent < SIZE; sent += chunk.length) {
    if (!stream.write(chunk)) await once(stream, 'drain');
  }
  stream.end();
  await done;
  const seconds = (performance.now() - start) / 1000;
  await close();
  await stop(peer);
  return SIZE / MiB / seconds;
}

async function latency(kind) {
  const peer = await startPeer(kind, 'echo');
  const { stream, close } = await openStream(kind, peer.port);
  const samples = [];
  const one = Uint8Array.of(1);
  for (let i = 0; i < ROUNDS; i++) {
    const start = performance.now();
    const reply = once(stream, 'data');
    stream.write(one);
    await reply;
    samples.push(performance.now() - start);
  }
  await close();
  await stop(peer);
  samples.sort((x, y) => x - y);
  return { p50: samples[Math.floor(ROUNDS * 0.5)], p99: samples[Math.floor(ROUNDS * 0.99)] };
}

function idleMemory(count) {
  // Sans-IO endpoints in one process: handshakes are driven by hand, no sockets involved.
  globalThis.gc?.();
  const before = process.memoryUsage().heapUsed;
  const a = new Endpoint({ localAddress: { network: 0, node: 1 } });
  const b = new Endpoint({
    localAddress: { network: 0, node: 2 },
    synRateGlobal: 1e9,
    synRatePerSource: 1e9,
    maxConnectionsPerPort: 1e6,
    acceptBacklog: 1e6,
  });
  b.listen(1000);
  const conns = [];
  for (let i = 0; i < count; i++) conns.push(a.connect({ network: 0, node: 2 }, 1000, 0));
  for (let round = 0; round < 4; round++) {
    for (const t of a.poll(0, 1e9)) b.receive(t.bytes, 0);
    for (const t of b.poll(0, 1e9)) a.receive(t.bytes, 0);
  }
  const accepted = [];
  for (let c = b.accept(1000); c; c = b.accept(1000)) accepted.push(c);
  globalThis.gc?.();
  const after = process.memoryUsage().heapUsed;
  if (accepted.length !== count) throw new Error(`only ${accepted.length} of ${count} connections opened`);
  // Both ends of each connection live in this heap: halve for one side.
  return (after - before) / count / 2;
}

const pilotRate = await goodput('pilot');
const tcpRate = await goodput('tcp');
const pilotRtt = await latency('pilot');
const tcpRtt = await latency('tcp');
const perConnection = idleMemory(1000);

const f = (n, digits = 1) => n.toFixed(digits);
console.log('pilot-ts transport bench (loopback, two processes, PILT plaintext, 1200-byte datagrams)');
console.log(
  `goodput, one stream:   pilot ${f(pilotRate)} MiB/s   tcp ${f(tcpRate)} MiB/s   ratio ${f(pilotRate / tcpRate, 3)}`,
);
console.log(
  `1-byte RTT p50:        pilot ${f(pilotRtt.p50 * 1000, 0)} µs   tcp ${f(tcpRtt.p50 * 1000, 0)} µs   ratio ${f(pilotRtt.p50 / tcpRtt.p50, 2)}`,
);
console.log(
  `1-byte RTT p99:        pilot ${f(pilotRtt.p99 * 1000, 0)} µs   tcp ${f(tcpRtt.p99 * 1000, 0)} µs   ratio ${f(pilotRtt.p99 / tcpRtt.p99, 2)}`,
);
console.log(
  `memory per idle connection (1,000 open): ${f(perConnection / 1024, 2)} KiB   (target < 16 KiB: ratio ${f(perConnection / 16384, 3)})`,
);
