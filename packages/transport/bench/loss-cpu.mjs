// node bench/loss-cpu.mjs [LOSS] [MiB]: what loss recovery costs in CPU, without sockets or noise —
// two sans-IO endpoints on a simulated 20 MB/s, 50 ms RTT link (@pilot/testkit LinkSimulation,
// seeded, so every run makes the same decisions), LOSS each way (default 0.05), one stream of MiB
// (default 64). Prints the simulated goodput (identical from run to run) and the CPU ms per MiB of
// the whole process (both ends and the simulation): compare builds on the same machine.
import { LinkSimulation, seededRandom } from '@pilot/testkit';
import { Endpoint } from '../dist/index.js';

const A = { network: 0, node: 10 },
  B = { network: 0, node: 11 };
const ra = seededRandom(1),
  rb = seededRandom(2);
const a = new Endpoint({ localAddress: A, random: () => ra.nextU32() });
const b = new Endpoint({ localAddress: B, random: () => rb.nextU32() });
const loss = Number(process.argv[2] ?? 0.05);
const sim = new LinkSimulation(a, b, {
  seed: 3,
  ab: { delay: 25, loss, bandwidth: 20000, queueLimit: 4 << 20 },
  ba: { delay: 25, loss },
});
b.listen(1000);
const c = a.connect(B, 1000, sim.now);
let s;
sim.runUntil(() => {
  s ??= b.accept(1000);
  return s !== undefined && c.state === 4;
});
const total = Number(process.argv[3] ?? 64) << 20;
const chunk = new Uint8Array(65536);
let off = 0,
  got = 0;
const t0 = sim.now,
  w0 = performance.now(),
  cpu0 = process.cpuUsage();
sim.runUntil(() => {
  while (off < total) {
    const n = c.write(chunk.subarray(0, Math.min(65536, total - off)));
    if (n === 0) break;
    off += n;
  }
  for (let x = s.read(); x !== undefined; x = s.read()) got += x.length;
  return got >= total;
}, 3_600_000);
const cpu = process.cpuUsage(cpu0);
console.log(
  `loss ${loss}: ${(total / 1048576).toFixed(0)} MiB in ${((sim.now - t0) / 1000).toFixed(1)} s simulated = ${(total / 1024 / ((sim.now - t0) / 1000)).toFixed(0)} KiB/s; wall ${(performance.now() - w0).toFixed(0)} ms, cpu ${((cpu.user + cpu.system) / 1000 / (total / 1048576)).toFixed(1)} ms/MiB (both ends + sim); retransmits ${a.counters.retransmits}, rto ${a.counters.rtoTimeouts}`,
);
