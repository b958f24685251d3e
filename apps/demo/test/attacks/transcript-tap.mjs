// A capture on the path between two daemons (attack 6): a UDP forwarder that a victim announces as
// its endpoint (`--endpoint`), recording every datagram in both directions before passing it on.
// Usage: node transcript-tap.mjs <capture file>   then write "upstream <host>:<port>" on stdin.
// Prints {"port":N} (where peers send to), {"upstream":"host:port"} once told, and writes one JSON
// line per datagram to the capture file: {"dir":"in"|"out","hex":"…"} ("in" towards the victim).
import { createSocket } from 'node:dgram';
import { appendFileSync, writeFileSync } from 'node:fs';

const [capture] = process.argv.slice(2);
writeFileSync(capture, '');
const front = createSocket('udp4'); // what peers reach (the victim's announced endpoint)
const back = createSocket('udp4'); // what the victim sees the peers at
let upstream;
let client; // the peer we last heard on the front socket
const record = (dir, message) =>
  appendFileSync(capture, `${JSON.stringify({ dir, hex: message.toString('hex') })}\n`);
front.on('message', (message, from) => {
  client = from;
  record('in', message);
  if (upstream !== undefined) back.send(message, upstream.port, upstream.host);
});
back.on('message', (message) => {
  record('out', message);
  if (client !== undefined) front.send(message, client.port, client.address);
});
process.stdin.setEncoding('utf8').on('data', (text) => {
  const match = /upstream (\S+):(\d+)/.exec(text);
  if (match === null) return;
  upstream = { host: match[1], port: Number(match[2]) };
  process.stdout.write(`${JSON.stringify({ upstream: `${upstream.host}:${upstream.port}` })}\n`);
});
back.bind(0, '127.0.0.1', () =>
  front.bind(0, '127.0.0.1', () =>
    process.stdout.write(`${JSON.stringify({ port: front.address().port })}\n`),
  ),
);
process.on('SIGTERM', () => {
  front.close();
  back.close();
  process.exit(0);
});
