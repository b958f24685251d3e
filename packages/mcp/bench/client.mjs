// The benchmark's agent side: 50 parallel tool calls that each fetch a payload, over Pilot and over
// Streamable HTTP on HTTPS, each with a fresh connection per call and with one kept-alive connection.
// Prints one JSON line {event:"result", …} with the median wall time of each variant.
import { appendFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Driver } from '@pilot/daemon/driver';
import { UdpTransport } from '@pilot/transport/node';
import { parseAddress } from '@pilot/wire';
import { DuplexTransport, transportStreams } from '../dist/index.js';
import { payload } from '../test/fixtures/weather-server.mjs';
import { startDaemonProcess } from './daemon-process.mjs';

const { values } = parseArgs({
  options: {
    server: { type: 'string' }, // the server's ready line (JSON)
    host: { type: 'string', default: '127.0.0.1' },
    calls: { type: 'string', default: '50' },
    bytes: { type: 'string', default: '65536' },
    rounds: { type: 'string', default: '3' },
    registry: { type: 'string' },
    beacon: { type: 'string' },
    // Pause before each fresh-stream round: the server admits a burst of 64 SYNs per source, then 10/s,
    // so a round starts like an agent's first 50 calls (a full bucket), not 1 s after the previous 50.
    'syn-refill-ms': { type: 'string', default: '6500' },
    // Driver connections to the agent's daemon, dials spread over them round robin. One Driver opens
    // further IPC connections by itself when a Dial would wait behind another (the daemon must answer
    // one connection's Dials in order: replies carry no id), so 1 is the normal case; 50 = one per
    // call, as 50 `pilotctl mcp connect` processes would have.
    drivers: { type: 'string', default: '1' },
  },
});
const ready = JSON.parse(values.server);
const calls = Number(values.calls);
const bytes = Number(values.bytes);
const rounds = Number(values.rounds);
const host = values.host;
function check(result, seed) {
  const text = result.content?.[0]?.text;
  if (text !== payload(bytes, seed))
    throw new Error(`call ${seed}: wrong payload (${String(text).length} chars)`);
}

function newClient() {
  return new Client({ name: 'bench-agent', version: '1.0.0' });
}

// --- Pilot: straight over a UdpTransport, or through a pilot-daemon and its driver (as pilotctl does) ---
let dialer;
let stopPilot;
if (ready.pilot.mode === 'daemon') {
  const daemon = await startDaemonProcess({
    registry: values.registry,
    beacon: values.beacon,
    name: 'agent',
  });
  const drivers = await Promise.all(
    Array.from({ length: Math.max(1, Number(values.drivers)) }, () => Driver.connect(daemon.socket)),
  );
  const driver = drivers[0];
  await driver.handshake(ready.pilot.nodeId, 'mcp benchmark');
  const deadline = Date.now() + 30_000;
  while (!(await driver.trusted()).some((peer) => peer.node_id === ready.pilot.nodeId)) {
    if (Date.now() > deadline) throw new Error('the server daemon did not approve the handshake within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  let next = 0;
  dialer = { dial: (address, port) => drivers[next++ % drivers.length].dial(address, port) };
  stopPilot = async () => {
    await Promise.all(drivers.map((d) => d.close()));
    await daemon.stop();
  };
} else {
  const serverAddress = parseAddress(ready.pilot.address);
  const pilot = await UdpTransport.create({
    host: '0.0.0.0',
    port: 0,
    localAddress: { network: 0, node: 0xa },
  });
  pilot.addPeer(serverAddress, { address: host, port: ready.pilot.udpPort });
  dialer = transportStreams(pilot);
  stopPilot = () => pilot.close();
}

async function pilotClient() {
  const stream = await dialer.dial(ready.pilot.address, ready.pilot.port);
  const client = newClient();
  await client.connect(new DuplexTransport(stream));
  return client;
}

// MCP_BENCH_TRACE=file: where a fresh call's time goes (dial, MCP initialize, the call), a line per
// round appended to that file (the lab keeps the agent's stderr to itself).
const trace = process.env.MCP_BENCH_TRACE;
function stages(label, rows) {
  if (trace === undefined || trace === '') return;
  const pick = (i) => rows.map((r) => r[i]).sort((a, b) => a - b);
  const fmt = (xs) => `med ${xs[xs.length >> 1].toFixed(0)} max ${xs[xs.length - 1].toFixed(0)}`;
  appendFileSync(
    trace,
    `${label}: dial ${fmt(pick(0))} | initialize ${fmt(pick(1))} | call ${fmt(pick(2))} | total ${fmt(pick(3))} ms\n`,
  );
}

async function pilotFresh() {
  await new Promise((resolve) => setTimeout(resolve, Number(values['syn-refill-ms'])));
  const start = performance.now();
  const rows = await Promise.all(
    Array.from({ length: calls }, async (_, seed) => {
      const t0 = performance.now();
      const stream = await dialer.dial(ready.pilot.address, ready.pilot.port);
      const t1 = performance.now();
      const client = newClient();
      await client.connect(new DuplexTransport(stream));
      const t2 = performance.now();
      check(await client.callTool({ name: 'fetch_data', arguments: { bytes, seed } }), seed);
      const t3 = performance.now();
      await client.close();
      return [t1 - t0, t2 - t1, t3 - t2, t3 - start];
    }),
  );
  stages('pilotFresh', rows);
  return performance.now() - start;
}

/** MCP_BENCH_TRACE: a warm round's calls, median and slowest (is the round its median call or its tail?). */
function callTimes(label, times) {
  if (trace === undefined || trace === '') return;
  const sorted = [...times].sort((a, b) => a - b);
  appendFileSync(
    trace,
    `${label}: call med ${sorted[sorted.length >> 1].toFixed(0)} p90 ${sorted[Math.floor(sorted.length * 0.9)].toFixed(0)} max ${sorted[sorted.length - 1].toFixed(0)} ms\n`,
  );
}

async function pilotSession() {
  const client = await pilotClient();
  const start = performance.now();
  await Promise.all(
    Array.from({ length: calls }, async (_, seed) =>
      check(await client.callTool({ name: 'fetch_data', arguments: { bytes, seed } }), seed),
    ),
  );
  const ms = performance.now() - start;
  await client.close();
  return ms;
}

async function pilotPool() {
  // The Pilot counterpart of a warmed keep-alive pool: one open session per call in flight.
  const clients = await Promise.all(Array.from({ length: calls }, () => pilotClient()));
  const start = performance.now();
  const times = await Promise.all(
    clients.map(async (client, seed) => {
      check(await client.callTool({ name: 'fetch_data', arguments: { bytes, seed } }), seed);
      return performance.now() - start;
    }),
  );
  const ms = performance.now() - start;
  callTimes('pilotPool', times);
  await Promise.all(clients.map((client) => client.close()));
  return ms;
}

// --- HTTPS (a fetch over node:https so that connection reuse is under our control) ---
function httpsFetch(agent) {
  return (url, init = {}) =>
    new Promise((resolve, reject) => {
      const headers = Object.fromEntries(new Headers(init.headers).entries());
      const req = request(
        new URL(url),
        { method: init.method ?? 'GET', headers, agent, ca: ready.cert, servername: 'localhost' },
        (res) => {
          const responseHeaders = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (value !== undefined)
              responseHeaders.set(name, Array.isArray(value) ? value.join(', ') : value);
          }
          const empty = [101, 204, 205, 304].includes(res.statusCode);
          if (empty) res.resume();
          resolve(
            new Response(empty ? null : Readable.toWeb(res), {
              status: res.statusCode,
              headers: responseHeaders,
            }),
          );
        },
      );
      req.on('error', reject);
      const abort = () => req.destroy(new Error('aborted'));
      init.signal?.addEventListener('abort', abort, { once: true });
      req.on('close', () => init.signal?.removeEventListener('abort', abort));
      req.end(typeof init.body === 'string' ? init.body : undefined);
    });
}

const url = new URL(`https://${host}:${ready.https.port}/mcp`);

async function httpsClient(agent) {
  const client = newClient();
  await client.connect(new StreamableHTTPClientTransport(url, { fetch: httpsFetch(agent) }));
  return client;
}

async function httpsFresh() {
  const start = performance.now();
  await Promise.all(
    Array.from({ length: calls }, async (_, seed) => {
      // New connections for this call only (its initialize, notification and call reuse them).
      const agent = new Agent({ keepAlive: true });
      const client = await httpsClient(agent);
      check(await client.callTool({ name: 'fetch_data', arguments: { bytes, seed } }), seed);
      await client.close();
      agent.destroy();
    }),
  );
  return performance.now() - start;
}

async function httpsKeepAlive() {
  const agent = new Agent({ keepAlive: true });
  const client = await httpsClient(agent);
  // Warm the pool: as many kept-alive connections as calls in flight.
  await Promise.all(Array.from({ length: calls }, () => client.listTools()));
  const start = performance.now();
  const times = await Promise.all(
    Array.from({ length: calls }, async (_, seed) => {
      check(await client.callTool({ name: 'fetch_data', arguments: { bytes, seed } }), seed);
      return performance.now() - start;
    }),
  );
  const ms = performance.now() - start;
  callTimes('httpsKeepAlive', times);
  await client.close();
  agent.destroy();
  return ms;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const variants = Object.fromEntries(
  Object.entries({ pilotFresh, httpsFresh, pilotPool, httpsKeepAlive, pilotSession }).filter(
    ([n]) => !process.env.MCP_BENCH_ONLY || n === process.env.MCP_BENCH_ONLY,
  ),
);
const results = {};
for (const [name, run] of Object.entries(variants)) {
  await run(); // warm-up (JIT, certificate parsing, tunnel state)
  const times = [];
  for (let i = 0; i < rounds; i++) times.push(await run());
  process.stderr.write(`${name}: ${times.map((t) => t.toFixed(1)).join(', ')} ms\n`);
  results[name] = { medianMs: median(times), runsMs: times.map((t) => Math.round(t * 10) / 10) };
}
await stopPilot();
process.stdout.write(`${JSON.stringify({ event: 'result', calls, bytes, rounds, results })}\n`);
