// Child process for bench/run.mjs, on loopback. Prints one JSON line once ready.
//   peer.mjs daemon '<DaemonOptions JSON>'   a daemon (startDaemon; BENCH_DAEMON_DIST picks another
//                                            build's index.js): {"nodeId", "socket"}
//   peer.mjs transport sink|echo             @pilot/transport alone, SealedCodec, node 2 port 1000: {"port"}
// Each line "cpu" on stdin is answered with {"cpuMs"} (user + system since start); when stdin
// closes the peer shuts down and exits.
import { createInterface } from 'node:readline';
import { SealedCodec, UdpTransport } from '@pilot/transport/node';
import { BENCH_KEY } from './bench-key.mjs';

const [kind, arg] = process.argv.slice(2);
let close = async () => {};

if (kind === 'daemon') {
  // BENCH_DAEMON_DIST: the daemon's entry point of another build (an A/B comparison), else ../dist.
  const { startDaemon } = await import(process.env.BENCH_DAEMON_DIST ?? '../dist/index.js');
  const daemon = await startDaemon(JSON.parse(arg ?? '{}'));
  close = () => daemon.close();
  console.log(JSON.stringify({ nodeId: daemon.nodeId, socket: daemon.socket }));
} else {
  const transport = await UdpTransport.create({
    localAddress: { network: 0, node: 2 },
    codec: new SealedCodec({ key: BENCH_KEY, localNode: 2 }),
  });
  transport.listen(1000);
  transport.on('connection', (stream) => {
    stream.on('error', () => {});
    if (arg === 'echo') {
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
  });
  close = () => transport.close();
  console.log(JSON.stringify({ port: transport.udpAddress.port }));
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line.trim() !== 'cpu') return;
  const cpu = process.cpuUsage();
  console.log(JSON.stringify({ cpuMs: (cpu.user + cpu.system) / 1000 }));
});
lines.on('close', async () => {
  await close().catch(() => {});
  process.exit(0);
});
