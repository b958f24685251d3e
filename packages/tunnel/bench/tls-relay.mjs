// pnpm bench: the TLS leg beside the UDP relay and the direct path, in one run on loopback. Three
// fresh pairs of TunnelManager nodes (UdpTransport, as in the daemon), one per path:
// - direct: the registry endpoint (a map here), punched as usual;
// - relay: UDP filtered to the beacon only on both nodes (as in the tunnel tests), so the beacon relays;
// - relay-tls: `transportMode: 'tcp'`, every frame through the TLS relay (WebSocket over TLS) of the
//   same beacon.
// For each: the median round trip of a 32-byte echo on a stream (BENCH_PINGS, default 200) and the
// goodput of one stream moving BENCH_MIB (default 32) MiB, with the ratio to the direct path.

import { generateIdentity } from '@pilot/crypto';
import { createSelfSignedCertificate } from '@pilot/directory/server';
import { Beacon, TlsRelayServer } from '@pilot/nat';
import { UdpTransport } from '@pilot/transport/node';
import { TunnelManager } from '../dist/index.js';

const MiB = 1024 * 1024;
const PINGS = Number(process.env.BENCH_PINGS ?? 200);
const BYTES = Number(process.env.BENCH_MIB ?? 32) * MiB;
const wide = { perSecond: 1e9, burst: 1e9 };

const beacon = await Beacon.start({
  host: '127.0.0.1',
  port: 0,
  sourceRate: wide,
  relayPacketRate: wide,
  relayByteRate: wide,
  relaySourcePacketRate: wide,
  relaySourceByteRate: wide,
});
const beaconAddress = { address: '127.0.0.1', port: beacon.address().port };
const keys = new Map();
const endpoints = new Map();
const certificate = createSelfSignedCertificate();
const relay = await TlsRelayServer.start({
  host: '127.0.0.1',
  port: 0,
  tls: { key: certificate.key, cert: certificate.cert },
  beacon,
  nodeKey: (node) => keys.get(node),
});
const directory = {
  publicKey: async (node) => keys.get(node),
  resolve: async (node) => (endpoints.has(node) ? { endpoint: endpoints.get(node) } : {}),
};

let nextNode = 1;
async function node(extra = {}) {
  const nodeId = nextNode++;
  const identity = generateIdentity();
  keys.set(nodeId, identity.publicKey);
  const manager = new TunnelManager({
    identity,
    directory,
    beacon: beaconAddress,
    directTimeoutMs: 500,
    directRetryMs: 600_000,
    ...extra,
  });
  await manager.bind({ host: '127.0.0.1', port: 0 });
  const transport = await UdpTransport.create({ link: manager, localAddress: { network: 0, node: nodeId } });
  manager.start(nodeId);
  await manager.discover();
  endpoints.set(nodeId, { address: '127.0.0.1', port: manager.udpAddress.port });
  return { nodeId, manager, transport };
}

/** Datagrams from anyone but the beacon never reach the socket (the tunnel tests' Firewall). */
function onlyBeacon(socket) {
  const original = socket.emit;
  socket.emit = function (event, ...args) {
    if (event === 'message' && args[1].port !== beaconAddress.port) return false;
    return original.call(this, event, ...args);
  };
}

function once(emitter, event) {
  return new Promise((resolve) => emitter.once(event, (...args) => resolve(args)));
}

async function measure(path, a, b) {
  const info = await a.manager.ensureTunnel(b.nodeId, { timeoutMs: 15_000 });
  if (info.path !== path) throw new Error(`expected ${path}, the tunnel is ${info.path}`);
  // Echo on port 7, a sink on port 9.
  b.transport.listen(7);
  b.transport.listen(9);
  let sunk = 0;
  let sinkDone;
  const sinkFinished = new Promise((resolve) => {
    sinkDone = resolve;
  });
  b.transport.on('connection', (stream) => {
    stream.on('error', () => {});
    if (stream.localPort === 7 || stream.connection?.localPort === 7) {
      stream.on('data', (chunk) => stream.write(chunk));
    } else {
      stream.on('data', (chunk) => {
        sunk += chunk.length;
        if (sunk >= BYTES) sinkDone();
      });
    }
  });
  const echo = await a.transport.connect({ network: 0, node: b.nodeId }, 7);
  echo.on('error', () => {});
  const rtts = [];
  const probe = Buffer.alloc(32, 1);
  for (let i = 0; i < PINGS; i++) {
    const started = performance.now();
    echo.write(probe);
    let got = 0;
    while (got < probe.length) got += (await once(echo, 'data'))[0].length;
    rtts.push(performance.now() - started);
  }
  echo.end();
  rtts.sort((x, y) => x - y);
  const sink = await a.transport.connect({ network: 0, node: b.nodeId }, 9);
  sink.on('error', () => {});
  const chunk = Buffer.alloc(64 * 1024, 7);
  const started = performance.now();
  for (let sent = 0; sent < BYTES; sent += chunk.length) {
    if (!sink.write(chunk)) await once(sink, 'drain');
  }
  await sinkFinished;
  const seconds = (performance.now() - started) / 1000;
  sink.end();
  return {
    path,
    pingMs: rtts[Math.floor(rtts.length / 2)],
    p90Ms: rtts[Math.floor(rtts.length * 0.9)],
    mibps: BYTES / MiB / seconds,
    drops: a.manager.stats.relay_tls_dropped ?? 0,
  };
}

const rows = [];
const all = [];
try {
  {
    const [a, b] = [await node(), await node()];
    all.push(a, b);
    rows.push(await measure('direct', a, b));
  }
  {
    const [a, b] = [await node(), await node()];
    all.push(a, b);
    onlyBeacon(a.manager.socket);
    onlyBeacon(b.manager.socket);
    rows.push(await measure('relay', a, b));
  }
  {
    const tls = { host: '127.0.0.1', port: relay.address().port, tls: { pin: certificate.fingerprint } };
    const [a, b] = [
      await node({ tlsRelay: tls, transportMode: 'tcp' }),
      await node({ tlsRelay: tls, transportMode: 'tcp' }),
    ];
    all.push(a, b);
    rows.push(await measure('relay-tls', a, b));
  }
} finally {
  for (const n of all) {
    await n.transport.close();
    await n.manager.close();
  }
  await relay.close();
  await beacon.close();
}

const direct = rows[0];
console.log(`TLS leg vs UDP relay vs direct, loopback, ${BYTES / MiB} MiB per stream, ${PINGS} pings`);
console.log(
  '| path | ping median ms | ping p90 ms | goodput MiB/s | goodput vs direct | ping vs direct | TLS queue drops |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const row of rows) {
  console.log(
    `| ${row.path} | ${row.pingMs.toFixed(2)} | ${row.p90Ms.toFixed(2)} | ${row.mibps.toFixed(1)} | ${(row.mibps / direct.mibps).toFixed(2)}× | ${(row.pingMs / direct.pingMs).toFixed(2)}× | ${row.drops} |`,
  );
}
