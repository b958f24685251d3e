// One end of a transfer across the impaired lab (bench/impaired-lab.mjs), over Pilot (PILS-sealed
// UDP, bench key; pilot: the default controller (BBR), pilot-newreno / pilot-cubic: New-Reno or
// CUBIC, pilot-mtu: BBR with 1472-byte datagrams, the lab path's MTU as TCP uses it, pilot-pmtud:
// BBR from 1200 bytes with path MTU discovery up to LAB_PMTU_CEILING (1472), probes answered within
// LAB_PMTU_PROBE_MS (1000); it prints {"event":"pmtu"} once the search settled, before sending) or TCP.
// Prints JSON lines.
//   recv pilot|pilot-newreno|pilot-cubic|pilot-mtu|tcp PORT SECONDS   count the bytes that arrive in SECONDS after the first one
//                                 ({"event":"goodput"}); SECONDS 0: read to the end and report
//                                 the sha256 ({"event":"done"})
//   send pilot|pilot-newreno|pilot-cubic|pilot-mtu|tcp HOST PORT BYTES [SEED]   write BYTES (0: without end) of seeded data, then end
// LAB_STATS_MS sets how often a pilot sender prints its {"event":"stats"} (default 1000; with BBR
// they include its state, bandwidth and min-RTT estimates and the sender's CPU time);
// LAB_RECEIVE_WINDOW_SEGMENTS and LAB_SEND_BUFFER_BYTES override the transport's buffer sizes.
import { createHash } from 'node:crypto';
import { connect, createServer } from 'node:net';
import { Bbr, createCubic, createNewReno } from '../dist/index.js';
import { SealedCodec, UdpTransport } from '../dist/node/index.js';
import { BENCH_KEY } from './bench-key.mjs';

const SENDER = { network: 0, node: 1 };
const RECEIVER = { network: 0, node: 2 };
/** The BBR controllers the default kind created, so the stats can show their model. */
const bbrs = [];
const print = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);

/** Deterministic bytes (xorshift32), so that both ends and the test agree without sending a hash along. */
export function seededBytes(seed, length) {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * `kind:name=value,...` (bench/lab-ab.mjs): endpoint options for this run (numbers, true/false);
 * `bbrReprobe` is BbrOptions.reprobeGrowth. The kind before the colon picks everything else.
 */
function variantOptions(fullKind) {
  const spec = fullKind.split(':')[1] ?? '';
  const options = {};
  for (const pair of spec.split(',').filter(Boolean)) {
    const [name, value] = pair.split('=');
    options[name] = value === 'true' ? true : value === 'false' ? false : Number(value);
  }
  return options;
}

async function pilotTransport(node, port, fullKind) {
  const { bbrReprobe, ...variant } = variantOptions(fullKind);
  const kind = fullKind.split(':')[0];
  return UdpTransport.create({
    ...variant,
    localAddress: node,
    host: '0.0.0.0',
    port,
    codec: new SealedCodec({ key: BENCH_KEY, localNode: node.node }),
    ...(kind === 'pilot-cubic' ? { congestionController: createCubic } : {}),
    ...(kind === 'pilot-newreno' ? { congestionController: createNewReno } : {}),
    // The lab's links have a 1500-byte MTU: 1472 bytes of UDP payload, where TCP's MSS is 1448.
    ...(kind === 'pilot-mtu' ? { maxDatagramSize: 1472 } : {}),
    ...(kind === 'pilot' || kind === 'pilot-mtu' || kind === 'pilot-pmtud'
      ? {
          congestionController: (mss) => {
            const cc = new Bbr(mss, bbrReprobe === undefined ? {} : { reprobeGrowth: bbrReprobe });
            bbrs.push(cc);
            return cc;
          },
        }
      : {}),
    ...(process.env.LAB_RECEIVE_WINDOW_SEGMENTS
      ? { receiveWindowSegments: Number(process.env.LAB_RECEIVE_WINDOW_SEGMENTS) }
      : {}),
    ...(process.env.LAB_SEND_BUFFER_BYTES
      ? { sendBufferBytes: Number(process.env.LAB_SEND_BUFFER_BYTES) }
      : {}),
  });
}

function receive(stream, seconds) {
  let bytes = 0;
  let first = 0;
  const hash = seconds === 0 ? createHash('sha256') : undefined;
  stream.on('data', (chunk) => {
    if (first === 0) {
      first = performance.now();
      if (seconds > 0) {
        setTimeout(() => {
          print({ event: 'goodput', bytes, seconds: (performance.now() - first) / 1000 });
          process.exit(0);
        }, seconds * 1000);
      }
    }
    bytes += chunk.length;
    hash?.update(chunk);
  });
  stream.on('end', () => {
    if (hash !== undefined)
      print({ event: 'done', bytes, sha256: hash.digest('hex'), ms: performance.now() - first });
    stream.end();
  });
  stream.on('error', (error) => print({ event: 'error', message: String(error) }));
}

function bbrStats() {
  const cc = bbrs.at(-1);
  if (cc === undefined) return {};
  return { bbr: cc.state, bandwidthKBps: Math.round(cc.bandwidth), minRtt: cc.minRtt };
}

async function send(stream, total, seed) {
  const chunkSize = 64 * 1024;
  const data = total > 0 ? seededBytes(seed, total) : new Uint8Array(chunkSize).fill(7);
  const hash = createHash('sha256').update(data).digest('hex');
  stream.on('error', (error) => print({ event: 'error', message: String(error) }));
  for (let at = 0; total === 0 || at < total; at = total === 0 ? 0 : at + chunkSize) {
    const ok = stream.write(total === 0 ? data : data.subarray(at, at + chunkSize));
    if (!ok) await new Promise((resolve) => stream.once('drain', resolve));
    if (stream.destroyed) return;
  }
  stream.end();
  print({ event: 'sent', bytes: total, sha256: hash });
}

const [role, fullKind, ...rest] = process.argv.slice(2);
const kind = fullKind.split(':')[0];
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();

if (role === 'recv') {
  const port = Number(rest[0]);
  const seconds = Number(rest[1] ?? 0);
  if (kind.startsWith('pilot')) {
    const transport = await pilotTransport(RECEIVER, port, fullKind);
    transport.listen(1000);
    transport.on('connection', (stream) => receive(stream, seconds));
  } else {
    const server = createServer((socket) => receive(socket, seconds));
    await new Promise((resolve) => server.listen(port, '0.0.0.0', resolve));
  }
  print({ event: 'ready', port });
} else if (role === 'send') {
  const [host, port, total, seed] = [rest[0], Number(rest[1]), Number(rest[2] ?? 0), Number(rest[3] ?? 1)];
  let stream;
  if (kind.startsWith('pilot')) {
    const transport = await pilotTransport(SENDER, 0, fullKind);
    transport.addPeer(RECEIVER, { address: host, port });
    if (kind === 'pilot-pmtud') {
      // Path MTU discovery towards the receiver (RFC 8899): wait for the search to settle, then send.
      transport.probePathMtu(RECEIVER, Number(process.env.LAB_PMTU_CEILING ?? 1472), {
        probeTimeout: Number(process.env.LAB_PMTU_PROBE_MS ?? 1000),
      });
      const settled = Date.now() + 60_000;
      while (transport.endpoint.pathMtuInfo(RECEIVER)?.state !== 'complete' && Date.now() < settled)
        await new Promise((resolve) => setTimeout(resolve, 20));
      print({ event: 'pmtu', ...transport.endpoint.pathMtuInfo(RECEIVER) });
    }
    stream = await transport.connect(RECEIVER, 1000);
    // For diagnosis: the sender's loss-recovery counters and window, every second.
    const connection = stream.connection;
    const { retransmits, fastRetransmits, rtoTimeouts, tailLossProbes, lossesDetected } =
      transport.endpoint.counters;
    setInterval(
      () => {
        const c = transport.endpoint.counters;
        print({
          event: 'stats',
          retransmits: c.retransmits - retransmits,
          fastRetransmits: c.fastRetransmits - fastRetransmits,
          rtoTimeouts: c.rtoTimeouts - rtoTimeouts,
          tailLossProbes: c.tailLossProbes - tailLossProbes,
          lossesDetected: c.lossesDetected - lossesDetected,
          sent: c.packetsSent,
          ...connection.stats(),
          cpuMs: Math.round((process.cpuUsage().user + process.cpuUsage().system) / 1000),
          ...bbrStats(),
          ...(kind === 'pilot-pmtud' ? { pmtu: transport.endpoint.pathMtuInfo(RECEIVER) } : {}),
        });
      },
      Number(process.env.LAB_STATS_MS ?? 1000),
    ).unref();
  } else {
    stream = connect({ host, port });
    await new Promise((resolve, reject) => {
      stream.once('connect', resolve);
      stream.once('error', reject);
    });
  }
  print({ event: 'connected' });
  await send(stream, total, seed);
} else {
  process.stderr.write('usage: lab-peer.mjs recv|send pilot|tcp …\n');
  process.exit(2);
}
