// The attacker of scenario 3 (SECURITY.md's flood suite): claims a victim's node ID at the beacon
// from its own address, to redirect the victim's relayed traffic to itself (or black-hole it).
// `node discover-spoof.mjs <beacon host> <beacon port> <victim node> <seconds> <per second>`.
// Sends, in turn, a bare reference discover (5 bytes), a padded one (20 bytes) and one with a
// forged proof of identity (a 73-byte tail: version 1, the current time, a random signature).
// Prints {"event":"started"} and, at the end, {"event":"done", sent, received:{type:count}}, where a
// relay delivery (type 6) means the victim's traffic came here.
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';

const [host, portText, nodeText, secondsText, rateText] = process.argv.slice(2);
const port = Number(portText);
const node = Number(nodeText);
const seconds = Number(secondsText);
const rate = Number(rateText);

function discover(kind) {
  const size = kind === 0 ? 5 : kind === 1 ? 20 : 5 + 73;
  const bytes = Buffer.alloc(size);
  bytes[0] = 0x01;
  bytes.writeUInt32BE(node, 1);
  if (kind === 2) {
    bytes[5] = 1;
    bytes.writeBigUInt64BE(BigInt(Date.now()), 6);
    randomBytes(64).copy(bytes, 14);
  }
  return bytes;
}

const socket = createSocket('udp4');
const received = {};
socket.on('message', (message) => {
  const type = String(message[0]);
  received[type] = (received[type] ?? 0) + 1;
});
await new Promise((resolve) => socket.bind(0, resolve));
process.stdout.write(`${JSON.stringify({ event: 'started' })}\n`);
let sent = 0;
const timer = setInterval(() => {
  socket.send(discover(sent % 3), port, host);
  sent++;
}, 1000 / rate);
setTimeout(() => {
  clearInterval(timer);
  // A moment for what the beacon still sends here (relayed frames of the victim, if it believed us).
  setTimeout(() => {
    process.stdout.write(`${JSON.stringify({ event: 'done', sent, received })}\n`);
    socket.close();
  }, 1000);
}, seconds * 1000);
