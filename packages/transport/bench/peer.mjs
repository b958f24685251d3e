// Child process for bench/run.mjs, on loopback. Prints {"port": n} once listening.
//   peer.mjs pilot|pilot-plain|tcp sink|echo|many   a sink answers one byte when the stream ends;
//                                                 "many" accepts 1,000s of idle streams
//   peer.mjs blast                                opens PILS frames from a bare UDP blast
// When stdin closes it prints {"cpuMs"} (CPU time, user + system, since the first connection or
// frame), and for blast {"bytes", "ms"}
// of what it opened, then exits.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { createTunnelOpener } from '@pilot/crypto';
import { SealedCodec, UdpTransport } from '../dist/node/index.js';
import { BENCH_KEY } from './bench-key.mjs';

const [kind, mode] = process.argv.slice(2);
// CPU is counted from the first connection or frame, so start-up (module loading) stays out of it.
let cpuStart;
const serve = (stream) => {
  cpuStart ??= process.cpuUsage();
  // The bench ends a connection by closing its transport, which resets it: expected, not a crash.
  stream.on('error', () => {});
  if (mode === 'echo') {
    stream.on('data', (chunk) => {
      if (!stream.write(chunk)) {
        stream.pause();
        stream.once('drain', () => stream.resume());
      }
    });
    stream.on('end', () => stream.end());
  } else if (mode === 'many') {
    stream.on('data', () => {});
  } else {
    stream.on('data', () => {});
    stream.on('end', () => stream.end(Uint8Array.of(1)));
  }
};

let report = () => ({});
if (kind === 'pilot' || kind === 'pilot-plain') {
  const transport = await UdpTransport.create({
    localAddress: { network: 0, node: 2 },
    ...(kind === 'pilot' ? { codec: new SealedCodec({ key: BENCH_KEY, localNode: 2 }) } : {}),
    ...(mode === 'many' ? { synRatePerSource: 1e6, synRateGlobal: 1e6 } : {}),
  });
  transport.listen(1000, mode === 'many' ? { backlog: 4096, maxConnections: 4096 } : {});
  transport.on('connection', serve);
  console.log(JSON.stringify({ port: transport.udpAddress.port }));
} else if (kind === 'blast') {
  const socket = createSocket('udp4');
  await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
  socket.setRecvBufferSize(4 * 1024 * 1024);
  const opener = createTunnelOpener({ key: BENCH_KEY, peerNode: 1 });
  let bytes = 0;
  let first = 0;
  let last = 0;
  socket.on('message', (frame) => {
    cpuStart ??= process.cpuUsage();
    try {
      bytes += opener.open(frame).length;
    } catch {
      return;
    }
    last = performance.now();
    if (first === 0) first = last;
  });
  report = () => ({ bytes, ms: last - first });
  console.log(JSON.stringify({ port: socket.address().port }));
} else {
  const server = createServer({ noDelay: true }, serve);
  server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
}
process.stdin.on('end', () => {
  const cpu = process.cpuUsage(cpuStart);
  process.stdout.write(`${JSON.stringify({ cpuMs: (cpu.user + cpu.system) / 1000, ...report() })}\n`, () =>
    process.exit(0),
  );
});
process.stdin.resume();
