// Runs inside p1 or p2: registers with the beacon, classifies its NAT, and on a punch command
// punches (adding birthday probing when one side is easy and the other hard); if no direct path
// appears it falls back to the beacon's relay. One JSON line per event on stdout.
// argv: node-id peer-id local-port [punch-timeout-ms]
// stdin: "peer easy|hard" (the peer's mapping, as a registry would tell it), "punch" (send the request),
// "rediscover" (classify and register again, after the router's NAT changed).
import { createSocket } from 'node:dgram';
import {
  BeaconClient,
  birthdayProbeEasy,
  birthdayPunchHard,
  classifyNat,
  PUNCH_FRAME,
  punch,
} from '../../dist/index.js';

const [node, peer, port] = process.argv.slice(2, 5).map(Number);
const punchTimeout = Number(process.argv[5] ?? 2500);
const beacon = { address: '198.18.0.1', port: 9001 };
const print = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);

const socket = createSocket('udp4');
await new Promise((resolve) => socket.bind(port, '0.0.0.0', resolve));
const client = new BeaconClient(socket, { node, beacon });
const reflexive = await client.discover({ rto: 200, retries: 4 });
print({ event: 'discover', reflexive });
const classification = await classifyNat(socket, [
  { protocol: 'beacon', address: '198.18.0.1', port: 9001 },
  { protocol: 'beacon', address: '198.18.0.1', port: 9002 },
]);
let mine = classification.mapping;
print({ event: 'classify', mapping: mine, endpoints: classification.endpoints });
// Register again from the tunnel socket (the beacon keeps the latest endpoint).
await client.discover({ rto: 200, retries: 4 });

let started = 0;
let theirs = 'unknown';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  for (const line of chunk.split('\n')) {
    if (line.startsWith('peer ')) theirs = line.slice(5).trim();
    if (line.trim() === 'rediscover') void rediscover();
    if (line.trim() === 'punch') {
      started = performance.now();
      client.requestPunch(peer);
    }
  }
});
print({ event: 'ready' });

// After the router's NAT changed: classify again and re-register from the same socket.
async function rediscover() {
  const again = await classifyNat(socket, [
    { protocol: 'beacon', address: '198.18.0.1', port: 9001 },
    { protocol: 'beacon', address: '198.18.0.1', port: 9002 },
  ]);
  mine = again.mapping;
  const moved = await client.discover({ rto: 200, retries: 4 });
  print({ event: 'rediscover', reflexive: moved, mapping: mine });
}

const command = await client.nextPunchCommand(10_000);
started ||= performance.now();
print({ event: 'command', endpoint: command, mine, theirs });
const abort = new AbortController();
const attempts = [
  punch(socket, command, { timeoutMs: punchTimeout, intervalMs: 50, signal: abort.signal }).then((r) => ({
    ...r,
    via: 'punch',
    socket,
  })),
];
if (mine === 'easy' && theirs === 'hard') {
  attempts.push(
    birthdayProbeEasy(socket, command.address, { timeoutMs: 8000, signal: abort.signal }).then((r) => ({
      ...r,
      via: 'birthday',
      socket,
    })),
  );
} else if (mine === 'hard' && theirs === 'easy') {
  attempts.push(
    birthdayPunchHard(command, { timeoutMs: 8000, signal: abort.signal }).then((r) => ({
      ...r,
      via: 'birthday',
    })),
  );
}
let tunnel = socket;
try {
  const result = await Promise.any(attempts);
  abort.abort();
  await Promise.allSettled(attempts);
  tunnel = result.socket;
  print({
    event: 'connected',
    path: 'direct',
    via: result.via,
    from: result.address,
    probes: result.probes,
    ms: Math.round(performance.now() - started),
  });
  // Keep answering a little so the peer's attempt also sees a frame.
  tunnel.on('message', (message, from) => {
    if (message.length >= 4 && message.readUInt32BE(0) === 0x50494c50)
      tunnel.send(PUNCH_FRAME, from.port, from.address);
  });
} catch {
  print({ event: 'punch-failed', ms: Math.round(performance.now() - started) });
  const got = new Promise((resolve) =>
    client.onRelayDeliver((source) => source === peer && resolve(undefined)),
  );
  const ticker = setInterval(() => client.relay(peer, PUNCH_FRAME), 50);
  await got;
  print({ event: 'connected', path: 'relay', ms: Math.round(performance.now() - started) });
  setTimeout(() => clearInterval(ticker), 1000);
}
setTimeout(() => {
  client.close();
  if (tunnel !== socket) tunnel.close();
  socket.close();
  process.exit(0);
}, 1200);
