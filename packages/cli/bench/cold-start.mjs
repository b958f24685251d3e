// pnpm bench (first part; bench/transfer.mjs follows): the cold start of pilotctl, against
// `node -e 0` measured in the same run.
//   - `pilotctl --json info` to a running daemon (a fresh process each time: what an agent calling
//     the CLI in a loop pays per call), as installed: the bundle dist/pilotctl.cjs;
//   - `pilotctl --json info` with no daemon at the socket (the failed call: start-up and the error);
//   - the same modules unbundled (dist/bin.js, ES modules as tsc wrote them), to show the bundle's share;
//   - BENCH_COMPARE=<path to another build's pilotctl> (or --compare): that build too (an older checkout);
//   - `node -e 0`: Node's own start, the floor of any Node CLI;
//   - the reference's Go pilotctl (`/tmp/pilot-reference/bin/pilotctl`, or PILOT_REFERENCE_PILOTCTL)
//     against the same daemon, when it is there.
// A registry (SQLite in a temp dir), a beacon and a daemon run in this process; each measured run is
// a child process timed from spawn to exit. The kinds are interleaved, BENCH_RUNS rounds (default 21), and
// each figure is the median (and the fastest) of its runs, since the 2-core machine is shared. The
// ratio to `node -e 0` of the same run is the figure to compare across runs and machines.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startDaemon } from '@pilot/daemon';
import { RegistryHandler, startDirectoryServer } from '@pilot/directory/server';
import { SqliteDirectoryStore } from '@pilot/directory/sqlite';
import { Beacon } from '@pilot/nat';

// BENCH_ONLY (bench/transfer.mjs's filter) without "cold-start": this part is skipped.
if (process.env.BENCH_ONLY !== undefined && !process.env.BENCH_ONLY.split(',').includes('cold-start'))
  process.exit(0);

const { values } = parseArgs({
  // `pnpm bench -- --runs 9` passes the `--` along.
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: {
    runs: { type: 'string', default: process.env.BENCH_RUNS ?? '21' },
    compare: { type: 'string', default: process.env.BENCH_COMPARE },
    reference: {
      type: 'string',
      default: process.env.PILOT_REFERENCE_PILOTCTL ?? '/tmp/pilot-reference/bin/pilotctl',
    },
  },
});
const RUNS = Number(values.runs);
const PILOTCTL = fileURLToPath(new URL('../dist/pilotctl.cjs', import.meta.url));
const UNBUNDLED = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const REFERENCE = existsSync(values.reference) ? values.reference : undefined;

/** Wall time of one child process, spawn to exit, in ms; rejects when it exits other than `expect`. */
function timed(command, args, env, expect) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.stderr.on('data', (chunk) => {
      out += chunk;
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== expect)
        reject(new Error(`${command} ${args.join(' ')} exited ${code}, not ${expect}: ${out}`));
      else resolve(ms);
    });
  });
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const root = mkdtempSync(join(tmpdir(), 'pilotctl-bench-'));
const store = new SqliteDirectoryStore({ path: join(root, 'directory.db') });
const server = await startDirectoryServer({
  handler: new RegistryHandler(store),
  host: '127.0.0.1',
  port: 0,
});
const beacon = await Beacon.start({ host: '127.0.0.1', port: 0 });
const socket = join(root, 'pilot.sock');
const daemon = await startDaemon({
  home: join(root, 'node'),
  registry: `127.0.0.1:${server.port}`,
  beacon: `127.0.0.1:${beacon.address().port}`,
  listen: '127.0.0.1:0',
  socket,
  hostname: 'bench',
  logLevel: 'error',
});

const env = { ...process.env, PILOT_HOME: join(root, 'cli-home'), PILOT_SOCKET: socket };
const kinds = [
  { key: 'node', label: 'node -e 0', command: process.execPath, args: ['-e', '0'], env, expect: 0 },
  {
    key: 'info',
    label: 'pilotctl --json info',
    command: process.execPath,
    args: [PILOTCTL, '--json', 'info'],
    env,
    expect: 0,
  },
  {
    key: 'failed',
    label: 'pilotctl --json info (no daemon)',
    command: process.execPath,
    args: [PILOTCTL, '--json', 'info'],
    env: { ...env, PILOT_SOCKET: join(root, 'nobody.sock') },
    expect: 1,
  },
  {
    key: 'unbundled',
    label: 'the same, unbundled (dist/bin.js, ESM)',
    command: process.execPath,
    args: [UNBUNDLED, '--json', 'info'],
    env,
    expect: 0,
  },
  ...(values.compare === undefined
    ? []
    : [
        {
          key: 'compare',
          label: `--compare ${values.compare}`.slice(0, 42),
          command: process.execPath,
          args: [values.compare, '--json', 'info'],
          env,
          expect: 0,
        },
      ]),
  ...(REFERENCE === undefined
    ? []
    : [
        {
          key: 'reference',
          label: "reference's Go pilotctl --json info",
          command: REFERENCE,
          args: ['--json', 'info'],
          env,
          expect: 0,
        },
      ]),
];

const times = Object.fromEntries(kinds.map((kind) => [kind.key, []]));
try {
  // One warm-up round: the file cache, not the measurement.
  for (const kind of kinds) await timed(kind.command, kind.args, kind.env, kind.expect);
  for (let round = 0; round < RUNS; round++) {
    for (const kind of kinds)
      times[kind.key].push(await timed(kind.command, kind.args, kind.env, kind.expect));
  }
} finally {
  await daemon.close();
  await server.close();
  store.close();
  await beacon.close();
  rmSync(root, { recursive: true, force: true });
}

const floor = median(times.node);
console.log(
  `pilotctl cold start: median (fastest) of ${RUNS} runs, a fresh process each, Node ${process.version}`,
);
const results = {};
for (const kind of kinds) {
  const med = median(times[kind.key]);
  const min = Math.min(...times[kind.key]);
  results[kind.key] = {
    medianMs: Number(med.toFixed(1)),
    minMs: Number(min.toFixed(1)),
    ratioToNode: Number((med / floor).toFixed(2)),
  };
  const extra =
    kind.key === 'node'
      ? ''
      : `   ${(med / floor).toFixed(2)}× node -e 0, ${(med - floor).toFixed(1)} ms over it`;
  console.log(`${kind.label.padEnd(42)} ${med.toFixed(1).padStart(7)} ms (${min.toFixed(1)})${extra}`);
}
console.log(JSON.stringify({ event: 'result', runs: RUNS, node: process.version, results }));
