// Runs inside p1 or p2: registers with the beacon, classifies its NAT, and on a punch command
// punches (adding birthday probing when one side is easy and the other hard); if no direct path
// appears it falls back to the beacon's relay. Over the path found, both sides then run the
// tunnel's authenticated key exchange (PILA, checked against the peer's Ed25519 key, as a registry
// would give it) and send one PILS-sealed packet carrying one byte: "authenticated" is when the
// peer's sealed byte opened. One JSON line per event on stdout.
// argv: node-id peer-id local-port [punch-timeout-ms]
// stdin: "peer easy|hard" (the peer's mapping, as a registry would tell it), "punch" (send the request),
// "rediscover" (classify and register again, after the router's NAT changed).
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import {
  createAuthKeyExchange,
  createTunnelOpener,
  createTunnelSealer,
  deriveTunnelKey,
  generateX25519KeyPair,
  identityFromSeed,
  verifyAuthKeyExchange,
} from '@pilot/crypto';
import { encodePacket, Protocol, TunnelMagic } from '@pilot/wire';
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
// Lab identities from the node IDs, so each side knows the other's Ed25519 key (a registry's job).
const identityOf = (id) => identityFromSeed(createHash('sha256').update(`natlab node ${id}`).digest());
const identity = identityOf(node);
const peerPublicKey = identityOf(peer).publicKey;

const socket = createSocket('udp4');
await new Promise((resolve) => socket.bind(port, '0.0.0.0', resolve));
// With the identity, discovers prove the node (the lab beacon knows the keys, as a registry would).
const client = new BeaconClient(socket, { node, beacon, identity });
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

// A tunnel listens from the start: handshake frames that arrive before this side has settled on
// a path (the peer settled first) are kept and handled as soon as it has.
const early = [];
const keepEarly = (message) => {
  const magic = message.length >= 4 ? message.readUInt32BE(0) : 0;
  if (magic === 0x50494c41 || magic === 0x50494c53) early.push(new Uint8Array(message));
};
socket.on('message', keepEarly);
const stopEarlyRelay = client.onRelayDeliver((source, frame) => {
  if (source === peer) keepEarly(Buffer.from(frame));
});
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
let path;
try {
  const result = await Promise.any(attempts);
  abort.abort();
  await Promise.allSettled(attempts);
  tunnel = result.socket;
  path = { kind: 'direct', address: result.address };
  print({
    event: 'connected',
    path: 'direct',
    via: result.via,
    from: result.address,
    probes: result.probes,
    ms: Math.round(performance.now() - started),
  });
  // Keep answering punch frames a little so the peer's attempt also sees one.
  tunnel.on('message', (message, from) => {
    if (message.length >= 4 && message.readUInt32BE(0) === TunnelMagic.PUNCH)
      tunnel.send(PUNCH_FRAME, from.port, from.address);
  });
} catch {
  print({ event: 'punch-failed', ms: Math.round(performance.now() - started) });
  const got = new Promise((resolve) =>
    client.onRelayDeliver((source) => source === peer && resolve(undefined)),
  );
  const ticker = setInterval(() => client.relay(peer, PUNCH_FRAME), 50);
  await got;
  path = { kind: 'relay' };
  print({ event: 'connected', path: 'relay', ms: Math.round(performance.now() - started) });
  setTimeout(() => clearInterval(ticker), 1000);
}

// The tunnel's handshake over the path: PILA both ways, then one sealed packet with one byte.
const x25519 = generateX25519KeyPair();
const pila = createAuthKeyExchange(identity, node, x25519.publicKey);
const sealedByte = encodePacket({
  protocol: Protocol.DATAGRAM,
  src: { network: 0, node },
  dst: { network: 0, node: peer },
  srcPort: 1001,
  dstPort: 1001,
  payload: Uint8Array.of(0x2a),
});
const sendFrame = (frame) => {
  if (path.kind === 'relay') client.relay(peer, frame);
  else tunnel.send(frame, path.address.port, path.address.address);
};
let sealer;
let opener;
let authenticated = false;
const receiveFrame = (frame) => {
  const magic = frame.length >= 4 ? new DataView(frame.buffer, frame.byteOffset, 4).getUint32(0) : 0;
  try {
    if (magic === TunnelMagic.AUTH_KEY_EXCHANGE && opener === undefined) {
      const verified = verifyAuthKeyExchange(frame, peerPublicKey);
      if (verified.senderNode !== peer) return;
      const key = deriveTunnelKey(x25519.privateKey, verified.x25519PublicKey);
      sealer = createTunnelSealer({ key, senderNode: node });
      opener = createTunnelOpener({ key, peerNode: peer });
      sendFrame(sealer.seal(sealedByte));
    } else if (magic === TunnelMagic.ENCRYPTED && opener !== undefined && !authenticated) {
      const plaintext = opener.open(frame);
      if (plaintext[plaintext.length - 1] !== 0x2a) return;
      authenticated = true;
      print({ event: 'authenticated', path: path.kind, ms: Math.round(performance.now() - started) });
    }
  } catch (error) {
    print({ event: 'rejected', code: error.code ?? String(error) });
  }
};
socket.off('message', keepEarly);
stopEarlyRelay();
if (path.kind === 'relay') client.onRelayDeliver((source, frame) => source === peer && receiveFrame(frame));
else tunnel.on('message', (message) => receiveFrame(new Uint8Array(message)));
// Until the peer has everything: PILA, and once the key exists a fresh sealed packet each time.
const handshake = setInterval(() => {
  sendFrame(pila);
  if (sealer !== undefined) sendFrame(sealer.seal(sealedByte));
}, 50);
sendFrame(pila);
for (const frame of early.splice(0)) receiveFrame(frame);

const deadline = Date.now() + 8000;
while (!authenticated && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
if (!authenticated) print({ event: 'auth-failed' });
setTimeout(() => {
  clearInterval(handshake);
  client.close();
  if (tunnel !== socket) tunnel.close();
  socket.close();
  process.exit(0);
}, 1500);
