// The load generator, in its own process so that it does not share an event loop with the server:
//   node load.mjs <port> lookup|register <seconds> <connections> <depth> <nodes> [count]
// Each connection keeps `depth` requests in flight (the registry answers in order on a connection,
// so requests may be pipelined). Requests are encoded before the clock starts; replies are counted
// from their frame headers and checked for the error type without a full JSON parse. Prints one
// JSON line: {rate, p50, p99, count, failures, ...}.
import { connect } from 'node:net';
import { Challenge, createSigner, signChallenge, toBase64 } from '../dist/index.js';

const [portText, mode, secondsText, connectionsText, depthText, nodesText, countText] = process.argv.slice(2);
const port = Number(portText);
const seconds = Number(secondsText);
const connections = Number(connectionsText);
const depth = Number(depthText);
const nodes = Number(nodesText);

function frame(message) {
  const body = Buffer.from(JSON.stringify(message));
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

// ---- requests, encoded before the timed run ----
let frames;
let presignSeconds = 0;
if (mode === 'lookup') {
  frames = Array.from({ length: 65_536 }, () =>
    frame({ type: 'lookup', node_id: 1 + Math.floor(Math.random() * nodes) }),
  );
} else {
  // Signed registrations of new keys: signed here, before the clock starts, so the figure is the server's.
  const count = Number(countText ?? 20_000);
  const t0 = performance.now();
  frames = [];
  for (let i = 0; i < count; i++) {
    const signer = createSigner();
    const key = toBase64(signer.publicKey);
    frames.push(
      frame({
        type: 'register',
        public_key: key,
        listen_addr: ':4000',
        ...signChallenge(signer, Challenge.register(key)),
      }),
    );
  }
  presignSeconds = (performance.now() - t0) / 1000;
}
const cycle = mode === 'lookup';
let next = 0;
function nextFrame() {
  if (next >= frames.length) {
    if (!cycle) return undefined;
    next = 0;
  }
  return frames[next++];
}

// ---- connections ----
const sockets = await Promise.all(
  Array.from(
    { length: connections },
    () =>
      new Promise((resolve, reject) => {
        const socket = connect({ host: '127.0.0.1', port }, () => resolve(socket));
        socket.setNoDelay(true);
        socket.once('error', reject);
      }),
  ),
);

const ERROR_PREFIX = Buffer.from('{"type":"error"');
let measuring = false;
let stopping = false;
let count = 0;
let failures = 0;
let ranOut = false;
let lastAt = 0;
const latencies = [];

function run(socket) {
  const sent = []; // send times, oldest first
  let head = 0;
  let pending = Buffer.alloc(0);
  let inFlight = 0;
  const send = () => {
    while (!stopping && inFlight < depth) {
      const f = nextFrame();
      if (f === undefined) {
        ranOut = true;
        break;
      }
      sent.push(performance.now());
      inFlight += 1;
      socket.write(f);
    }
  };
  return new Promise((resolve) => {
    socket.on('data', (chunk) => {
      const buf = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let offset = 0;
      const now = performance.now();
      while (buf.length - offset >= 4) {
        const length = buf.readUInt32BE(offset);
        if (buf.length - offset - 4 < length) break;
        const body = buf.subarray(offset + 4, offset + 4 + length);
        offset += 4 + length;
        const start = sent[head++];
        inFlight -= 1;
        if (measuring) {
          count += 1;
          lastAt = now;
          latencies.push(now - start);
          if (body.subarray(0, ERROR_PREFIX.length).equals(ERROR_PREFIX)) {
            failures += 1;
            if (failures <= 3) process.stderr.write(`error reply: ${body.toString().slice(0, 200)}\n`);
          }
        }
      }
      pending = offset === buf.length ? Buffer.alloc(0) : buf.subarray(offset);
      if (head > 4096) {
        sent.splice(0, head);
        head = 0;
      }
      send();
      if ((stopping || ranOut) && inFlight === 0) resolve();
    });
    socket.on('close', () => resolve());
    send();
  });
}

// A short warm-up for lookups (JIT, page cache), then the timed window.
const warmup = mode === 'lookup' ? 500 : 0;
const done = Promise.all(sockets.map(run));
setTimeout(() => {
  measuring = true;
  const t0 = performance.now();
  setTimeout(() => {
    measuring = false;
    // Registrations that run out of pre-signed requests end early: count the time they really took.
    const elapsed = ((ranOut ? lastAt : performance.now()) - t0) / 1000;
    const measured = count;
    stopping = true;
    done.then(() => {
      for (const socket of sockets) socket.destroy();
      latencies.sort((a, b) => a - b);
      const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
      process.stdout.write(
        `${JSON.stringify({ rate: measured / elapsed, p50: pct(0.5), p99: pct(0.99), count: measured, failures, ranOut, presignSeconds })}\n`,
      );
    });
  }, seconds * 1000);
}, warmup);
