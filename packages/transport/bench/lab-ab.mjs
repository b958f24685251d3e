// node bench/lab-ab.mjs REPEATS LOSS VARIANT...: an interleaved A/B of transport options across the
// impaired NAT lab (bench/impaired-lab.mjs: 25 ms each way, LOSS % each way), so that variants
// meet the same load and the same path in turn instead of minutes apart. A VARIANT is a lab-peer
// kind (tcp, pilot, pilot-mtu, ...), optionally with endpoint options after a colon:
//   node bench/lab-ab.mjs 5 5 tcp pilot-mtu:pacingCatchUpMs=0 pilot-mtu
//   node bench/lab-ab.mjs 5 5 pilot-mtu:bbrReprobe=Infinity pilot-mtu
// (bbrReprobe is BbrOptions.reprobeGrowth). Each transfer runs AB_SECONDS (default 5) from its
// first byte; prints every run, the median and its ratio to the first variant, the load average,
// and the last stats line of each pilot sender. Root only, like the lab; build first (dist/).
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { ImpairedLab, labUnavailable, RECEIVER_HOST } from './impaired-lab.mjs';

const PEER = fileURLToPath(new URL('./lab-peer.mjs', import.meta.url));
const [repeats, loss, ...variants] = process.argv.slice(2);
const SECONDS = Number(process.env.AB_SECONDS ?? 5);
if (variants.length === 0) {
  console.log('usage: node bench/lab-ab.mjs REPEATS LOSS VARIANT...');
  process.exit(2);
}
const why = labUnavailable();
if (why !== undefined) {
  console.log(`lab A/B skipped: ${why}`);
  process.exit(0);
}

const lab = await ImpairedLab.up();
const rates = Object.fromEntries(variants.map((v) => [v, []]));
const stats = {};
const load = [loadavg()[0]];
try {
  await lab.impair(25, Number(loss), 0);
  let port = 7000;
  for (let r = 0; r < Number(repeats); r++) {
    for (const variant of variants) {
      port++;
      const receiver = lab.node('p2', PEER, ['recv', variant, port, SECONDS]);
      await receiver.event('ready');
      const sender = lab.node('p1', PEER, ['send', variant, RECEIVER_HOST, port, 0]);
      const line = await receiver.event('goodput', (SECONDS + 30) * 1000);
      rates[variant].push(Number(line.bytes) / 1024 / Number(line.seconds));
      const last = sender.lines.filter((l) => l.event === 'stats').at(-1);
      if (last !== undefined) stats[variant] = last;
      await sender.kill();
      await receiver.kill();
    }
    load.push(loadavg()[0]);
  }
} finally {
  await lab.close();
}

const median = (values) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)];
const base = median(rates[variants[0]]);
console.log(
  `lab A/B: 50 ms RTT, ${loss} % loss each way, ${SECONDS} s each, interleaved, median of ${repeats}; load average ${load.map((l) => l.toFixed(1)).join(' → ')}`,
);
for (const variant of variants) {
  const s = stats[variant];
  const detail =
    s === undefined
      ? ''
      : `  (last run: sender CPU ${s.cpuMs} ms, BBR ${s.bbr ?? '–'} ${s.bandwidthKBps ?? '–'} kB/s, retransmits ${s.retransmits}, losses ${s.lossesDetected}, RTOs ${s.rtoTimeouts})`;
  console.log(
    `${variant.padEnd(36)} ${median(rates[variant]).toFixed(0).padStart(6)} KiB/s [${rates[variant].map((x) => x.toFixed(0)).join(' / ')}]  ratio ${(median(rates[variant]) / base).toFixed(2)}${detail}`,
  );
}
