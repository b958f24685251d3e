// `pnpm bench`: the NAT matrix in the lab (root only) and the STUN codec's speed. The matrix runs
// every ordered pair of placements {public, fullcone, ei, sym} (p1 requests the punch), BENCH_RUNS
// times each (default 3), with the lab agents of the tests: punch (+ birthday, + relay fallback),
// then PILA both ways and one PILS-sealed byte over the path found. It prints, per pair, the path
// and two times on p1: from the punch request to the first frame from the peer, and to the first
// authenticated byte (the peer's sealed byte opened). The codec figures are printed against a
// DataView read of the same header measured in the same run.
import { fileURLToPath } from 'node:url';
import { labUnavailable, NatLab } from '@pilot/testkit/natlab';
import { decodeStunMessage, encodeBindingRequest } from '../dist/index.js';

const beaconScript = fileURLToPath(new URL('../test/lab/beacon.mjs', import.meta.url));
const agentScript = fileURLToPath(new URL('../test/lab/agent.mjs', import.meta.url));

function codec() {
  const request = encodeBindingRequest(new Uint8Array(12).fill(3));
  const time = (fn, rounds = 200_000) => {
    for (let i = 0; i < 10_000; i++) fn();
    const start = performance.now();
    for (let i = 0; i < rounds; i++) fn();
    return rounds / ((performance.now() - start) / 1000);
  };
  let sink = 0;
  const baseline = time(() => {
    const view = new DataView(request.buffer, request.byteOffset, request.length);
    sink ^= view.getUint32(4) ^ view.getUint16(2);
  });
  const decode = time(() => {
    sink ^= decodeStunMessage(request).attributes.length;
  });
  const encode = time(() => {
    sink ^= encodeBindingRequest(request.subarray(8, 20)).length;
  });
  console.log('STUN codec (52-byte Binding request with SOFTWARE and FINGERPRINT)');
  console.log(`  baseline DataView header read ${(baseline / 1e6).toFixed(2)} M/s  1.00x`);
  console.log(
    `  decodeStunMessage             ${(decode / 1e6).toFixed(2)} M/s  ${(decode / baseline).toFixed(3)}x`,
  );
  console.log(
    `  encodeBindingRequest          ${(encode / 1e6).toFixed(2)} M/s  ${(encode / baseline).toFixed(3)}x`,
  );
  return sink;
}

async function pair(m1, m2) {
  const lab = await NatLab.up(m1, m2);
  try {
    const beacon = lab.node('pub', beaconScript, []);
    await beacon.event('ready', 5000);
    const p1 = lab.node('p1', agentScript, [101, 202, 40000]);
    const p2 = lab.node('p2', agentScript, [202, 101, 40000]);
    await Promise.all([p1.event('ready'), p2.event('ready')]);
    p1.write(`peer ${(await p2.event('classify')).mapping}`);
    p2.write(`peer ${(await p1.event('classify')).mapping}`);
    p1.write('punch');
    const [c1, c2] = await Promise.all([p1.event('connected', 10_000), p2.event('connected', 10_000)]);
    const [a1] = await Promise.all([p1.event('authenticated', 10_000), p2.event('authenticated', 10_000)]);
    const how = (c) => (c.via ? `${c.path}(${c.via})` : c.path);
    beacon.end();
    return { path: `${how(c1)} / ${how(c2)}`, frameMs: Number(c1.ms), authMs: Number(a1.ms) };
  } finally {
    await lab.close();
  }
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const spread = (values) => {
  const m = median(values);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return `${m}${lo === hi ? '' : ` (${lo}–${hi})`}`;
};

async function matrix() {
  const unavailable = labUnavailable();
  if (unavailable !== undefined) {
    console.log(`NAT matrix skipped: ${unavailable}`);
    return;
  }
  const runs = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
  const modes = ['public', 'fullcone', 'ei', 'sym'];
  console.log(
    `\nNAT matrix, ${runs} run(s) per pair; ms on p1 (the requester), median (min–max): punch request → first frame from the peer, and → first authenticated byte (PILA both ways + a PILS-sealed byte)\n`,
  );
  console.log('| p1 + p2 | path (p1 / p2) | → first frame, ms | → first authenticated byte, ms |');
  console.log('| --- | --- | --- | --- |');
  const grid = new Map();
  for (const m1 of modes) {
    for (const m2 of modes) {
      const samples = [];
      for (let run = 0; run < runs; run++) samples.push(await pair(m1, m2));
      const paths = [...new Set(samples.map((s) => s.path))].join(', ');
      const auth = samples.map((s) => s.authMs);
      grid.set(
        `${m1}+${m2}`,
        `${samples.every((s) => s.path.startsWith('relay')) ? 'relay' : 'direct'} ${median(auth)}`,
      );
      console.log(
        `| ${m1} + ${m2} | ${paths} | ${spread(samples.map((s) => s.frameMs))} | ${spread(auth)} |`,
      );
    }
  }
  console.log('\nMedian ms to the first authenticated byte (rows: p1, the requester; columns: p2)\n');
  console.log(`| p1 \\ p2 | ${modes.join(' | ')} |`);
  console.log(`| --- | ${modes.map(() => '---').join(' | ')} |`);
  for (const m1 of modes)
    console.log(`| ${m1} | ${modes.map((m2) => grid.get(`${m1}+${m2}`)).join(' | ')} |`);
}

codec();
await matrix();
