// A sans-IO model of the MCP bench's Pilot side (packages/mcp `bench/run.mjs --natlab`): 50
// connections, each a small request answered with ~64 KiB, on the seeded link (25 ms each way, 1 %
// loss each way, 1 ms jitter, as the lab's impair-wire.py). A round lasts until its slowest call is
// answered: the protocol's own cost, round trips and timers, without any CPU.
//   node bench/mcp-sim.mjs [seeds=20] [warm|fresh]     (after `pnpm build`)
//   warm:  connections open and used once before the clock starts (the bench's warm sessions)
//   fresh: connect, a small exchange (MCP initialize), then the call, all timed
// Environment: SIM_CALLS, SIM_BYTES, SIM_DELAY (one way, ms), SIM_LOSS (0..1), SIM_JITTER (ms),
// SIM_BW (bytes/ms bottleneck), SIM_IW (initial window in segments), SIM_STAGES=1 (fresh: time per
// stage), SIM_TRACE=N (print every packet of the N slowest calls of each round).
import { LinkSimulation, seededRandom } from '@pilot/testkit';
import { decodePacket } from '@pilot/wire';
import { Bbr, Endpoint } from '../dist/index.js';

const seeds = Number(process.argv[2] ?? 20);
const mode = process.argv[3] ?? 'warm';
const env = process.env;
const calls = Number(env.SIM_CALLS ?? 50);
const responseBytes = Number(env.SIM_BYTES ?? 66_000);
const link = {
  delay: Number(env.SIM_DELAY ?? 25),
  loss: Number(env.SIM_LOSS ?? 0.01),
  jitter: Number(env.SIM_JITTER ?? 1),
  ...(env.SIM_BW === undefined ? {} : { bandwidth: Number(env.SIM_BW) }),
};
const traced = Number(env.SIM_TRACE ?? 0);
const A = { network: 0, node: 0xa };
const B = { network: 0, node: 0xb };
const PORT = 1010;

/** Every client writes `request` bytes; its server answers `response` bytes once it has them all. */
function exchange(sim, pairs, request, response, start) {
  const state = pairs.map(() => ({ got: 0, received: 0, answered: false, done: undefined }));
  for (const [client] of pairs) client.write(new Uint8Array(request));
  sim.runUntil(() => {
    let all = true;
    pairs.forEach(([client, server], i) => {
      const s = state[i];
      for (let chunk = server.read(); chunk !== undefined; chunk = server.read()) s.got += chunk.length;
      if (!s.answered && s.got >= request) {
        s.answered = true;
        server.write(new Uint8Array(response));
      }
      for (let chunk = client.read(); chunk !== undefined; chunk = client.read()) s.received += chunk.length;
      if (s.done === undefined && s.received >= response) s.done = sim.now - start;
      if (s.done === undefined) all = false;
    });
    return all;
  }, 120_000);
  return state.map((s) => s.done);
}

function openPairs(sim, a, b) {
  const clients = Array.from({ length: calls }, () => a.connect(B, PORT, sim.now));
  const servers = [];
  sim.runUntil(() => {
    for (let s = b.accept(PORT); s !== undefined; s = b.accept(PORT)) servers.push(s);
    return servers.length === calls && clients.every((c) => c.state === 4);
  }, 60_000);
  return clients.map((c) => [c, servers.find((s) => s.remotePort === c.localPort)]);
}

const rounds = [];
const counters = { retransmits: 0, tailLossProbes: 0, rtoTimeouts: 0 };
for (let seed = 1; seed <= seeds; seed++) {
  const ra = seededRandom(seed ^ 0xa);
  const rb = seededRandom(seed ^ 0xb);
  const window =
    env.SIM_IW === undefined
      ? {}
      : { congestionController: (mss) => new Bbr(mss, { initialWindow: Number(env.SIM_IW) * mss }) };
  const a = new Endpoint({ localAddress: A, random: () => ra.nextU32(), ...window });
  // The bench waits for the server's SYN bucket to refill between fresh rounds; here, no limit.
  const b = new Endpoint({
    localAddress: B,
    random: () => rb.nextU32(),
    synRatePerSource: 100_000,
    synRateGlobal: 100_000,
    ...window,
  });
  const sim = new LinkSimulation(a, b, { seed, ab: link, ba: link });
  const log = [];
  sim.onSend = (from, bytes) => {
    if (traced > 0) log.push({ at: sim.now, from, packet: decodePacket(bytes) });
    return undefined;
  };
  b.listen(PORT);
  // The bench's warm-up round: the path's RTT is known before the timed rounds.
  let pairs = openPairs(sim, a, b);
  exchange(sim, pairs, 300, 300, sim.now);
  sim.runFor(50);
  log.length = 0;
  const start = sim.now;
  let times;
  if (mode === 'warm') {
    times = exchange(sim, pairs, 150, responseBytes, start);
  } else {
    pairs = openPairs(sim, a, b);
    const opened = sim.now;
    exchange(sim, pairs, 300, 600, start);
    const initialized = sim.now;
    times = exchange(sim, pairs, 150, responseBytes, start);
    if (env.SIM_STAGES)
      console.log(
        `stages: open ${(opened - start).toFixed(0)} initialize ${(initialized - opened).toFixed(0)} call ${(sim.now - initialized).toFixed(0)} ms`,
      );
  }
  const sorted = [...times].sort((x, y) => x - y);
  rounds.push(sorted[calls - 1]);
  console.log(
    `seed ${seed}: median call ${sorted[calls >> 1].toFixed(0)} ms, slowest ${sorted[calls - 1].toFixed(0)} ms`,
  );
  const slowest = times
    .map((t, i) => [t, i])
    .sort((x, y) => y[0] - x[0])
    .slice(0, traced);
  for (const [t, i] of slowest) {
    const port = pairs[i][0].localPort;
    console.log(`  call #${i} (port ${port}) took ${t.toFixed(1)} ms:`);
    for (const { at, from, packet: p } of log) {
      if ((from === 'a' ? p.srcPort : p.dstPort) !== port) continue;
      const way = from === 'a' ? 'C→S' : 'S→C';
      console.log(
        `  ${(at - start).toFixed(1).padStart(7)} ${way} seq=${p.seq >>> 0} ack=${p.ack >>> 0} len=${p.payload.length} flags=${p.flags} win=${p.window}`,
      );
    }
  }
  for (const e of [a, b]) for (const key of Object.keys(counters)) counters[key] += e.counters[key];
}
rounds.sort((x, y) => x - y);
const at = (q) => rounds[Math.min(rounds.length - 1, Math.floor(rounds.length * q))].toFixed(0);
console.log(
  `${mode}: round (slowest call) median ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${at(1)} ms;`,
  `retransmissions ${counters.retransmits}, tail-loss probes ${counters.tailLossProbes}, RTOs ${counters.rtoTimeouts}`,
);
