// Child process for bench/run.mjs: a sink or an echo server, over Pilot (UDP) or TCP on loopback.
// Prints {"port": n} once listening; a sink answers one byte when the stream ends.
import { createServer } from 'node:net';
import { UdpTransport } from '../dist/node/index.js';

const [kind, mode] = process.argv.slice(2);
const serve = (stream) => {
  if (mode === 'echo') {
    stream.on('data', (chunk) => {
      if (!stream.write(chunk)) {
        stream.pause();
        stream.once('drain', () => stream.resume());
      }
    });
    stream.on('end', () => stream.end());
  } else {
    stream.on('data', () => {});
    stream.on('end', () => stream.end(Uint8Array.of(1)));
  }
};

if (kind === 'pilot') {
  const transport = await UdpTransport.create({ localAddress: { network: 0, node: 2 } });
  transport.listen(1000);
  transport.on('connection', serve);
  console.log(JSON.stringify({ port: transport.udpAddress.port }));
} else {
  const server = createServer({ noDelay: true }, serve);
  server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
}
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
