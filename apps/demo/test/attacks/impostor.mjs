// An impostor claiming to be a trusted node (attack 1): it holds its own Ed25519 key (the one the
// man in the middle put in the registry's lookups) and sends a signed PILA key exchange as that
// node's ID to the victim's UDP port, then answers whatever comes back with its PILA again.
// Usage: node impostor.mjs <seed hex> <claimed node id> <victim host> <victim port>
// Prints {"port":N} (where it sends from), {"sent":N} after each PILA and {"heard":bytes,"magic":"…"} for each datagram received.
import { createSocket } from 'node:dgram';
import {
  createAuthKeyExchange,
  generateX25519KeyPair,
  identityFromSeed,
} from '../../../../packages/crypto/dist/index.js';

const [seedHex, nodeText, host, portText] = process.argv.slice(2);
const identity = identityFromSeed(Uint8Array.from(Buffer.from(seedHex, 'hex')));
const x25519 = generateX25519KeyPair();
const pila = createAuthKeyExchange(identity, Number(nodeText), x25519.publicKey);
const socket = createSocket('udp4');
let sent = 0;
const send = () => {
  socket.send(pila, Number(portText), host);
  sent += 1;
  process.stdout.write(`${JSON.stringify({ sent })}\n`);
};
socket.on('message', (message) => {
  process.stdout.write(
    `${JSON.stringify({ heard: message.length, magic: message.subarray(0, 4).toString('latin1') })}\n`,
  );
});
socket.bind(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: socket.address().port })}\n`);
  send();
  const timer = setInterval(send, 300);
  process.on('SIGTERM', () => {
    clearInterval(timer);
    socket.close();
    process.exit(0);
  });
});
