// The peers of bench/idle-tunnels.mjs, in a process of their own so that their keys and frames do not
// count in the daemon's memory: N nodes behind one loopback socket, speaking the spec's static-key
// tunnel (a signed PILA, then PILS frames), as reference peers do. Messages from the parent:
//   { ids }                    the node IDs the registry gave our keys (we sent { publicKeys } first)
//   { pilas: { port, from, count } }  send those peers' PILAs to the daemon
//   { keepalives: { port, everyMs } } derive each tunnel key from the daemon's PILA, send a sealed
//                              empty keepalive per peer now and then every everyMs (an idle tunnel
//                              with live peers: the daemon never sees its paths go silent)
//   { pilasHeard: true }       answer how many PILAs the daemon sent us ({ pilasHeard })
//   { count: { expect, ms } }  answer how many sealed frames the daemon sent us ({ sealedHeard })
//   { exit }
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
const identities = [];
const publicKeys = new Uint8Array(TUNNELS * 32);
for (let i = 0; i < TUNNELS; i++) {
  const identity = generateIdentity();
  identities.push(identity);
  publicKeys.set(identity.publicKey, i * 32);
}
let peers = [];

const socket = createSocket('udp4');
await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
let daemonX25519;
let heard = 0;
let pilasHeard = 0;
socket.on('message', (frame) => {
  const magic = frame.readUInt32BE(0);
  if (magic === 0x50494c41) {
    pilasHeard++; // the daemon's answer to one of our PILAs: that tunnel is keyed
    daemonX25519 ??= Uint8Array.from(frame.subarray(8, 40)); // PILA: magic, node, X25519 key, …
  } else if (magic === 0x50494c53) {
    heard++; // a sealed frame to one of us (the daemon's keepalive); counted, not opened
  }
});

let keepaliveTimer;
let closed = false;
async function sendKeepalives(port) {
  let sent = 0;
  for (const peer of peers) {
    if (closed) return;
    socket.send(peer.sealer.seal(new Uint8Array(0)), port, '127.0.0.1');
    // Paced so that the loopback socket buffers do not drop the burst.
    if (++sent % 256 === 0) await sleep(5);
  }
}

process.send({ publicKeys });
process.on('message', async (message) => {
  if (message.ids !== undefined) {
    peers = identities.map((identity, i) => {
      const x25519 = generateX25519KeyPair();
      const node = message.ids[i];
      return { node, x25519, pila: createAuthKeyExchange(identity, node, x25519.publicKey) };
    });
    process.send({ ready: true });
  } else if (message.pilas !== undefined) {
    const { port, from, count } = message.pilas;
    for (const peer of peers.slice(from, from + count)) socket.send(peer.pila, port, '127.0.0.1');
    process.send({ sent: count });
  } else if (message.keepalives !== undefined) {
    for (let waited = 0; daemonX25519 === undefined && waited < 5000; waited += 20) await sleep(20);
    if (daemonX25519 === undefined) {
      process.send({ ready: false });
      return;
    }
    for (const peer of peers) {
      const key = deriveTunnelKey(peer.x25519.privateKey, daemonX25519);
      peer.sealer = createTunnelSealer({ key, senderNode: peer.node });
    }
    const { port, everyMs } = message.keepalives;
    await sendKeepalives(port);
    keepaliveTimer = setInterval(() => void sendKeepalives(port), everyMs);
    process.send({ ready: true });
  } else if (message.pilasHeard !== undefined) {
    process.send({ pilasHeard });
  } else if (message.count !== undefined) {
    for (let waited = 0; heard < message.count.expect && waited < message.count.ms; waited += 50)
      await sleep(50);
    process.send({ sealedHeard: heard });
  } else if (message.exit) {
    clearInterval(keepaliveTimer);
    closed = true;
    socket.close();
    process.disconnect();
  }
});
