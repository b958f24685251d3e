// `pnpm bench`: 50 parallel MCP tool calls, each fetching a 64 KiB payload, over Pilot streams and over
// the SDK's Streamable HTTP transport on HTTPS (fresh connection per call, and kept alive).
//   node bench/run.mjs              loopback (server and agent in two processes on this host)
//   node bench/run.mjs --natlab     across the NAT lab: agent behind an endpoint-independent NAT (p1),
//                                   server on a public host (p2), 50 ms RTT and 1% loss on p1's link
//   node bench/run.mjs --daemons    Pilot through two daemons (startDaemon, encrypted tunnels) and the
//                                   driver, with a pilot-rendezvous (apps/rendezvous); with or without --natlab
//   --calls N --bytes B --rounds R  (defaults 50, 65536, 3); --delay MS (one way) --loss PCT for the lab
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  // `pnpm bench -- --natlab` passes the `--` along.
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: {
    natlab: { type: 'boolean', default: false },
    daemons: { type: 'boolean', default: false },
    calls: { type: 'string', default: '50' },
    bytes: { type: 'string', default: '65536' },
    rounds: { type: 'string', default: '3' },
    delay: { type: 'string', default: '25' },
    loss: { type: 'string', default: '1' },
    // Seconds the lab run may take before it is abandoned.
    timeout: { type: 'string', default: '600' },
    // Pilot's per-source SYN rate on the server; unset = the transport's default (a burst of 64, then 10/s,
    // as the daemon runs it), so 50 parallel fresh streams are admitted at once.
    'syn-rate': { type: 'string' },
    // Pause before each fresh-Pilot round so the server's per-source SYN bucket (64) has refilled.
    'syn-refill-ms': { type: 'string', default: '6500' },
    // With --daemons: driver (IPC) connections the agent dials through (see client.mjs).
    drivers: { type: 'string', default: '1' },
  },
});
const serverScript = fileURLToPath(new URL('./server.mjs', import.meta.url));
const clientScript = fileURLToPath(new URL('./client.mjs', import.meta.url));
// MCP_BENCH_PROF=dir (loopback runs): the server and agent processes write V8 CPU profiles there.
const profArgs = process.env.MCP_BENCH_PROF
  ? ['--cpu-prof', '--cpu-prof-dir', process.env.MCP_BENCH_PROF]
  : [];
const rendezvousMain = fileURLToPath(new URL('../../../apps/rendezvous/dist/main.js', import.meta.url));
const synRateArgs = values['syn-rate'] === undefined ? [] : ['--syn-rate', values['syn-rate']];
const serverArgs = values.daemons ? ['--pilot', 'daemon'] : synRateArgs;
const clientArgs = [
  '--calls',
  values.calls,
  '--bytes',
  values.bytes,
  '--rounds',
  values.rounds,
  '--syn-refill-ms',
  values['syn-refill-ms'],
  '--drivers',
  values.drivers,
];

function spawnJsonLines(command, args) {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = [];
  const waiters = [];
  let buffered = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    buffered += chunk;
    for (let at = buffered.indexOf('\n'); at >= 0; at = buffered.indexOf('\n')) {
      const line = buffered.slice(0, at);
      buffered = buffered.slice(at + 1);
      try {
        lines.push(JSON.parse(line));
      } catch {
        process.stderr.write(`${line}\n`);
      }
      for (const wake of waiters.splice(0)) wake();
    }
  });
  const exited = new Promise((resolve) => child.once('close', resolve));
  void exited.then(() => {
    for (const wake of waiters.splice(0)) wake();
  });
  return {
    child,
    async match(predicate) {
      for (;;) {
        const found = lines.find(predicate);
        if (found) return found;
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${args[0]} exited early`);
        await new Promise((resolve) => waiters.push(resolve));
      }
    },
    event(name) {
      return this.match((line) => line.event === name);
    },
    exited,
  };
}

const RENDEZVOUS_ARGS = ['--store', ':memory:', '--log-format', 'json', '--log-level', 'info'];

/** The rendezvous' first log line names the registry and beacon addresses it bound. */
function rendezvousAddresses(line) {
  if (typeof line.registry !== 'string' || typeof line.beacon !== 'string') return undefined;
  return { registry: line.registry, beacon: line.beacon };
}

async function loopback() {
  let rendezvous;
  let rendezvousArgs = [];
  if (values.daemons) {
    rendezvous = spawnJsonLines(process.execPath, [
      rendezvousMain,
      '--registry-addr',
      '127.0.0.1:0',
      '--beacon-addr',
      '127.0.0.1:0',
      ...RENDEZVOUS_ARGS,
    ]);
    const addresses = rendezvousAddresses(
      await rendezvous.match((line) => rendezvousAddresses(line) !== undefined),
    );
    rendezvousArgs = ['--registry', addresses.registry, '--beacon', addresses.beacon];
  }
  const server = spawnJsonLines(process.execPath, [
    ...profArgs,
    serverScript,
    ...serverArgs,
    ...rendezvousArgs,
  ]);
  try {
    const ready = await server.event('ready');
    const client = spawnJsonLines(process.execPath, [
      ...profArgs,
      clientScript,
      '--server',
      JSON.stringify(ready),
      ...clientArgs,
      ...rendezvousArgs,
    ]);
    const via = values.daemons ? ', through two pilot-daemons' : '';
    return { path: `loopback (two processes, 127.0.0.1${via})`, result: await client.event('result') };
  } finally {
    server.child.stdin.end();
    await server.exited;
    if (rendezvous !== undefined) {
      rendezvous.child.kill('SIGTERM');
      await rendezvous.exited;
    }
  }
}

async function natlab() {
  const { LAB_PUBLIC_IP, NatLab, labUnavailable } = await import('@pilot/testkit/natlab');
  const why = labUnavailable({ impair: true });
  if (why !== undefined) throw new Error(`NAT lab unavailable: ${why}`);
  const lab = await NatLab.up('ei', 'public');
  // Interrupted (Ctrl-C, a timeout): take the namespaces down before leaving.
  const abandon = () => void lab.close().finally(() => process.exit(1));
  process.once('SIGINT', abandon);
  process.once('SIGTERM', abandon);
  let server;
  let client;
  try {
    const delayMs = Number(values.delay);
    const lossPercent = Number(values.loss);
    await lab.impair('p1', { delayMs, lossPercent, jitterMs: 1 });
    const serverIp = lab.localIp('p2');
    let rendezvousArgs = [];
    if (values.daemons) {
      const rendezvous = lab.node('pub', rendezvousMain, [
        '--registry-addr',
        `${LAB_PUBLIC_IP}:9000`,
        '--beacon-addr',
        `${LAB_PUBLIC_IP}:9001`,
        ...RENDEZVOUS_ARGS,
      ]);
      await rendezvous.waitFor((line) => rendezvousAddresses(line) !== undefined, 30_000, 'the rendezvous');
      rendezvousArgs = ['--registry', `${LAB_PUBLIC_IP}:9000`, '--beacon', `${LAB_PUBLIC_IP}:9001`];
    }
    server = lab.node('p2', serverScript, [
      '--host',
      '0.0.0.0',
      '--alt-ip',
      serverIp,
      ...serverArgs,
      ...rendezvousArgs,
    ]);
    const ready = await server.event('ready', 30_000);
    client = lab.node('p1', clientScript, [
      '--server',
      JSON.stringify(ready),
      '--host',
      serverIp,
      ...clientArgs,
      ...rendezvousArgs,
    ]);
    const result = await client.event('result', Number(values.timeout) * 1000).catch((error) => {
      process.stderr.write(
        `server stderr:\n${server.stderr.slice(-3000)}\nagent stderr:\n${client.stderr.slice(-3000)}\n`,
      );
      throw error;
    });
    server.end();
    return {
      path: `NAT lab: p1 behind an EI NAT → ${serverIp}, ${2 * delayMs} ms RTT, ${lossPercent}% loss each way${values.daemons ? ', through two pilot-daemons (rendezvous on pub)' : ''}`,
      result,
    };
  } finally {
    await lab.close();
    process.off('SIGINT', abandon);
    process.off('SIGTERM', abandon);
  }
}

function row(label, ms) {
  // MCP_BENCH_ONLY runs one variant: the others print as n/a.
  return `${label.padEnd(44)} ${ms === undefined ? '      n/a' : ms.toFixed(1).padStart(9)} ms`;
}

const { path, result } = values.natlab ? await natlab() : await loopback();
const r = result.results;
const mib = (result.calls * result.bytes) / 1048576;
console.log(
  `MCP benchmark: ${result.calls} parallel tool calls × ${result.bytes} B (${mib.toFixed(2)} MiB), median of ${result.rounds}`,
);
const synLimit =
  values['syn-rate'] === undefined ? 'default (burst 64, then 10/s)' : `${values['syn-rate']}/s`;
console.log(
  `path: ${path}${values.daemons ? `; ${values.drivers} driver connection(s)` : `; server SYN limit per source ${synLimit}`}`,
);
console.log(row('Pilot, a fresh stream + MCP session per call', r.pilotFresh?.medianMs));
console.log(row('HTTPS, a fresh connection + MCP session per call', r.httpsFresh?.medianMs));
console.log(row('Pilot, warm sessions (one per call in flight)', r.pilotPool?.medianMs));
console.log(row('HTTPS, warm keep-alive connections', r.httpsKeepAlive?.medianMs));
console.log(row('Pilot, all calls on one session (one stream)', r.pilotSession?.medianMs));
console.log(
  `ratio fresh      HTTPS / Pilot = ${(r.httpsFresh?.medianMs / r.pilotFresh?.medianMs).toFixed(2)}`,
);
console.log(
  `ratio keep-alive HTTPS / Pilot = ${(r.httpsKeepAlive?.medianMs / r.pilotPool?.medianMs).toFixed(2)}`,
);
console.log(
  JSON.stringify({
    path,
    synRatePerSource: values['syn-rate'] === undefined ? 'default' : Number(values['syn-rate']),
    ...result,
  }),
);
