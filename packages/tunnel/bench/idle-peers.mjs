// The peers of bench/idle-tunnels.mjs, in their own process so that their keys and frames do not
// count in the manager's memory. Node IDs 2..N+1 on one loopback socket. Messages from the parent:
// { pilas: { port, from, count } } sends those peers' PILAs; { keepalives: { port } } derives every
// tunnel key from the manager's PILA and sends a sealed empty keepalive per peer; { count } answers
// how many peers have received a sealed frame from the manager; { exit } ends.
import { createSocket } from 'node:dgram';
import {
  createAuthKeyExchange,
  createTunnelSealer,
  deriveTunnelKey,
  generateIdentity,
  generateX25519KeyPair,
} from '@pilot/crypto';

const TUNNELS = Number(process.argv[2]);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const publicKeys = new Uint8Array(TUNNELS * 32);
const peers = [];
for (let i = 0; i < TUNNELS; i++) {
  const identity = generateIdentity();
  const x25519 = generateX25519KeyPair();
  publicKeys.set(identity.publicKey, i * 32);
  peers.push({ node: i + 2, x25519, pila: createAuthKeyExchange(identity, i + 2, x25519.publicKey) });
}

const socket = createSocket('udp4');
await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
let managerX25519;
const heard = new Set();
socket.on('message', (frame) => {
  const magic = frame.readUInt32BE(0);
  if (magic === 0x50494c41 && managerX25519 === undefined) {
    managerX25519 = Uint8Array.from(frame.subarray(8, 40)); // PILA: magic, node, X25519 key, …
  } else if (magic === 0x50494c53) {
    // PILS: the manager's keepalive to the node named nowhere in the frame but by its key; the
    // bench only counts frames (one per peer), opening them would need one opener per peer here.
    heard.add(heard.size);
  }
});

process.send({ publicKeys });
process.on('message', async (message) => {
  if (message.pilas !== undefined) {
    const { port, from, count } = message.pilas;
    for (const peer of peers.slice(from, from + count)) socket.send(peer.pila, port, '127.0.0.1');
    process.send({ sent: count });
  } else if (message.keepalives !== undefined) {
    for (let waited = 0; managerX25519 === undefined && waited < 5000; waited += 20) await sleep(20);
    if (managerX25519 === undefined) {
      process.send({ ready: false });
      return;
    }
    let sent = 0;
    for (const peer of peers) {
      const key = deriveTunnelKey(peer.x25519.privateKey, managerX25519);
      const frame = createTunnelSealer({ key, senderNode: peer.node }).seal(new Uint8Array(0));
      socket.send(frame, message.keepalives.port, '127.0.0.1');
      // Pace the burst so that the loopback socket buffers do not drop it.
      if (++sent % 256 === 0) await sleep(5);
    }
    process.send({ ready: true });
  } else if (message.count !== undefined) {
    for (let waited = 0; heard.size < message.count.expect && waited < message.count.ms; waited += 50)
      await sleep(50);
    process.send({ sealedHeard: heard.size });
  } else if (message.exit) {
    socket.close();
    process.disconnect();
  }
});
