// The TCP contender of bench/loss.mjs, run inside a lab namespace (JSON lines on stdout):
//   recv PORT               accept one connection, read to its end: {"event":"done","bytes","ms"}
//                           (ms from the connection's arrival to its end)
//   send HOST PORT BYTES    write BYTES, then end
// The congestion control is the namespace's default (the bench sets it to BBR).
import { connect, createServer } from 'node:net';

const print = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);
const [mode, ...args] = process.argv.slice(2);

if (mode === 'recv') {
  const server = createServer((socket) => {
    const start = performance.now();
    let bytes = 0;
    socket.on('data', (chunk) => {
      bytes += chunk.length;
    });
    socket.on('end', () => {
      print({ event: 'done', bytes, ms: performance.now() - start });
      socket.end();
      server.close();
    });
  });
  server.listen(Number(args[0]), '0.0.0.0', () => print({ event: 'ready' }));
} else if (mode === 'send') {
  const [host, port, total] = [args[0], Number(args[1]), Number(args[2])];
  const socket = connect(port, host, async () => {
    const chunk = Buffer.alloc(64 * 1024, 7);
    for (let sent = 0; sent < total; sent += chunk.length) {
      if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve));
    }
    socket.end();
  });
  socket.on('close', () => print({ event: 'sent' }));
  socket.resume();
} else {
  process.stderr.write('usage: tcp-peer.mjs recv PORT | send HOST PORT BYTES\n');
  process.exit(2);
}
