// pnpm bench (second part): SECURITY.md's flood figures, before and after, in one run. Runs the
// flood suite's real-process tests (test/floods/: pilot-rendezvous, a victim pilot-daemon, an
// attacker process, a trusted peer) twice each and prints what each printed as `[flood] {...}`:
//   after  — this build with its default budgets;
//   before — this build with the budgets of the scenario lifted by flag; for scenario 1, with
//            BENCH_BEFORE_ROOT=<another built checkout>, that checkout's pilot-daemon and
//            pilot-rendezvous (the registry lanes cannot be lifted by flag: give a build before them).
//   scenario 2 (punch-flood, NAT lab, root): after always; before only with BENCH_BEFORE_ROOT (a
//            daemon's punch budget cannot be lifted into the old behaviour), with the old victim's
//            mapping made known by --reflector and the old rendezvous given --stun-addr.
// The "before" runs fail their assertions by design; only the figures are read.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const PACKAGE = fileURLToPath(new URL('..', import.meta.url));
const LIFTED = {
  'pila-flood':
    '--budget-lookup-rate 1000000 --budget-lookup-burst 1000000 --budget-lookup-in-flight 1000000 ' +
    '--budget-lookup-per-source-rate 1000000 --budget-lookup-per-source-burst 1000000 ' +
    '--budget-lookup-queue 1000000 --budget-lookup-negative-ttl-ms 0',
  'ooo-flood':
    '--budget-handshake-window-segments 8192 --budget-handshake-streams-per-peer 1024 ' +
    '--budget-handshake-max-streams 1024 --budget-peer-receive-bytes 1000000000000',
};

function run(test, before) {
  const env = { ...process.env };
  const root = process.env.BENCH_BEFORE_ROOT;
  if (test === 'punch-flood') return runPunch(before, root, env);
  if (before && test === 'pila-flood' && root !== undefined) {
    env.PILOT_FLOOD_DAEMON_MAIN = `${root}/apps/daemon/dist/main.js`;
    env.PILOT_FLOOD_RENDEZVOUS_MAIN = `${root}/apps/rendezvous/dist/main.js`;
  } else if (before) env.PILOT_FLOOD_DAEMON_ARGS = LIFTED[test];
  const result = spawnSync('pnpm', ['exec', 'vitest', 'run', `test/floods/${test}.int.test.ts`], {
    cwd: PACKAGE,
    env,
    encoding: 'utf8',
    timeout: 300_000,
  });
  const line = `${result.stdout}`.split('\n').find((l) => l.includes('[flood] '));
  return line === undefined ? undefined : JSON.parse(line.slice(line.indexOf('[flood] ') + 8));
}

/** Scenario 2's two cases (victim public, behind a symmetric NAT): one figure per placement. */
function runPunch(before, root, env) {
  if (before) {
    if (root === undefined) return undefined;
    env.PILOT_FLOOD_DAEMON_MAIN = `${root}/apps/daemon/dist/main.js`;
    env.PILOT_FLOOD_RENDEZVOUS_MAIN = `${root}/apps/rendezvous/dist/main.js`;
    env.PILOT_PUNCH_FLOOD_VICTIM_FLAGS = '--reflector 198.18.0.1:9002';
    env.PILOT_PUNCH_FLOOD_RENDEZVOUS_FLAGS = '--stun-addr 198.18.0.1:9002';
  }
  const result = spawnSync('pnpm', ['exec', 'vitest', 'run', 'test/floods/punch-flood.e2e.test.ts'], {
    cwd: PACKAGE,
    env,
    encoding: 'utf8',
    timeout: 300_000,
  });
  const figures = `${result.stdout}`
    .split('\n')
    .filter((l) => l.includes('[flood] '))
    .map((l) => JSON.parse(l.slice(l.indexOf('[flood] ') + 8)));
  return figures.length === 0 ? undefined : figures;
}

const rows = [];
for (const test of ['pila-flood', 'ooo-flood', 'punch-flood']) {
  for (const before of [true, false]) {
    const figure = run(test, before);
    rows.push({ test, mode: before ? 'before' : 'after', figure });
    process.stderr.write(`${test} ${before ? 'before' : 'after'}: ${JSON.stringify(figure)}\n`);
  }
}

const pad = (text, width) => String(text).padEnd(width);
console.log('scenario 1: 1,000 PILAs/s with random IDs for 20 s, registry 50 ms away');
console.log(
  `${pad('mode', 8)}${pad('heartbeats', 12)}${pad('gap max ms', 12)}${pad('lookups at registry', 21)}pings`,
);
for (const { mode, figure: f } of rows.filter((r) => r.test === 'pila-flood'))
  console.log(
    f === undefined
      ? `${pad(mode, 8)}(no figure)`
      : `${pad(mode, 8)}${pad(f.heartbeats, 12)}${pad(f.heartbeat_gap_max_ms ?? '-', 12)}${pad(f.lookups_at_registry, 21)}${f.pings}`,
  );
console.log('\nscenario 4: 1,024 streams of out-of-order segments to port 444 (64 attacker nodes)');
console.log(
  `${pad('mode', 8)}${pad('accepted', 10)}${pad('RSS growth MiB', 16)}${pad('goodput loaded/unloaded', 25)}`,
);
for (const { mode, figure: f } of rows.filter((r) => r.test === 'ooo-flood'))
  console.log(
    f === undefined
      ? `${pad(mode, 8)}(no figure)`
      : `${pad(mode, 8)}${pad(f.attacker?.opened ?? '-', 10)}${pad(f.rss_growth_mib, 16)}${pad(`${f.ratio} (${f.goodput_loaded_mib_s}/${f.goodput_unloaded_mib_s} MiB/s)`, 25)}`,
  );
console.log('\nscenario 2: spoofed punch requests, 40 in 10 s (NAT lab; before needs BENCH_BEFORE_ROOT)');
console.log(
  `${pad('mode', 8)}${pad('victim', 8)}${pad('victim B / attacker B', 24)}${pad('fds before/peak/after', 23)}echoes ok/failed`,
);
for (const { mode, figure } of rows.filter((r) => r.test === 'punch-flood')) {
  if (figure === undefined) console.log(`${pad(mode, 8)}(no figure: no NAT lab, or no BENCH_BEFORE_ROOT)`);
  else
    for (const f of figure)
      console.log(
        `${pad(mode, 8)}${pad(f.placement, 8)}${pad(`${f.victim_bytes} / ${f.attacker_bytes} (${f.ratio}x)`, 24)}${pad(f.fds.join(' / '), 23)}${f.echoes} / ${f.echo_failures}`,
      );
}
