// Child process for bench/transfer.mjs, on loopback. Prints one JSON line once ready.
//   peer.mjs daemon '<DaemonOptions JSON>'   a daemon: {"nodeId", "socket", "pid"}
//   peer.mjs sink|echo <key hex>             @pilot/transport alone, SealedCodec, node 2 port 1000: {"port"}
//   peer.mjs sink-pmtud|echo-pmtud <key hex> the same, probing its peer's path up to the datagrams
//                                            daemons use on loopback (LOOPBACK_DATAGRAM_CEILING)
// Each line "stat" on stdin is answered with {"cpuMs", "rssMiB"}; when stdin closes the peer exits.
import { createInterface } from 'node:readline';
import { LOOPBACK_DATAGRAM_CEILING, startDaemon } from '@pilot/daemon';
import { SealedCodec, UdpTransport } from '@pilot/transport/node';

const [kind, arg] = process.argv.slice(2);
let close = async () => {};

if (kind === 'daemon') {
  const daemon = await startDaemon(JSON.parse(arg ?? '{}'));
  close = () => daemon.close();
  console.log(JSON.stringify({ nodeId: daemon.nodeId, socket: daemon.socket, pid: process.pid }));
} else {
  const transport = await UdpTransport.create({
    localAddress: { network: 0, node: 2 },
    codec: new SealedCodec({ key: Buffer.from(arg, 'hex'), localNode: 2 }),
  });
  transport.listen(1000);
  transport.on('connection', (stream) => {
    stream.on('error', () => {});
    if (kind.endsWith('-pmtud')) transport.probePathMtu(stream.remoteAddress, LOOPBACK_DATAGRAM_CEILING);
    if (kind.startsWith('echo')) {
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
  console.log(JSON.stringify({ port: transport.udpAddress.port, pid: process.pid }));
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line.trim() !== 'stat') return;
  const cpu = process.cpuUsage();
  // BENCH_MEM_DETAIL: also where the memory is (V8 heap committed, Buffers/ArrayBuffers outside it).
  const detail = process.env.BENCH_MEM_DETAIL
    ? (({ heapTotal, external }) => ({ heapMiB: heapTotal / 1048576, externalMiB: external / 1048576 }))(
        process.memoryUsage(),
      )
    : {};
  console.log(
    JSON.stringify({
      cpuMs: (cpu.user + cpu.system) / 1000,
      rssMiB: process.memoryUsage.rss() / 1048576,
      ...detail,
    }),
  );
});
lines.on('close', async () => {
  await close().catch(() => {});
  process.exit(0);
});
