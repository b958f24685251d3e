// pnpm bench (packages/interop): one-way goodput across the NAT lab at 50 ms RTT and 5 % loss
// (impair-wire.py on p1's link: 25 ms and the loss each way), all contenders on the same path in
// the same run, interleaved:
//   pilot-ts   two pilot-ts daemons (p1 → p2), `pilotctl send-file` of BENCH_MIB (fresh pilotctl)
//   tcp-bbr    one Node TCP stream p1 → p2, the namespaces' congestion control set to BBR
//              (`sysctl net.ipv4.tcp_congestion_control`, read back and printed)
//   reference  two reference daemons (/tmp/pilot-reference/bin) on the same path, `pilotctl
//              send-file` of 600 KiB (its IPC limit refuses 1 MiB files), and pilot-ts again at
//              that size for a like-for-like row
// pilot-ts rows count from the dial's completion to the last ACK (pilotctl's own `seconds`), as TCP
// counts from the connection's arrival; the wall time of the pilotctl process is shown beside.
// Env: BENCH_MIB (default 16), BENCH_REPEATS (default 3, medians), BENCH_LOSS (default 5),
// BENCH_DELAY_MS (one way, default 25), BENCH_ONLY=pilot-ts,tcp-bbr,reference, PILOT_REFERENCE_BIN.
// Root only (network namespaces); prints why it is skipped otherwise.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  LAB_BEACON,
  LAB_REGISTRY,
  labUnavailable,
  NatLab,
  PILOTCTL_MAIN,
  startLabDaemon,
  startLabRendezvous,
} from '@pilot/testkit/natlab';

const MiB = 1024 * 1024;
const SIZE_MIB = Number(process.env.BENCH_MIB ?? 32);
/** The reference's pilotctl sends a file as one IPC message, which its daemon refuses at 1 MiB. */
const SMALL = 600 * 1024;
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const LOSS = Number(process.env.BENCH_LOSS ?? 5);
const DELAY = Number(process.env.BENCH_DELAY_MS ?? 25);
const REF_BIN = process.env.PILOT_REFERENCE_BIN ?? '/tmp/pilot-reference/bin';
const ONLY = new Set((process.env.BENCH_ONLY ?? 'pilot-ts,tcp-bbr,reference').split(','));
const TRACE = process.env.BENCH_TRACE === '1';
const TCP_PEER = fileURLToPath(new URL('./tcp-peer.mjs', import.meta.url));

const unavailable = labUnavailable({ impair: true });
if (unavailable !== undefined) {
  console.log(`@pilot/interop loss bench skipped: ${unavailable}`);
  process.exit(0);
}

function run(file, args, env, timeoutMs) {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 16 * MiB },
      (error, stdout, stderr) => resolve({ ok: error === null, stdout, stderr, error }),
    );
  });
}

function parse(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Waits until `check` returns something other than undefined. */
async function eventually(what, check, ms = 60_000, every = 500) {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, every));
  }
}

const ctl = {
  ts: (node, args, timeoutMs = 600_000) =>
    run(
      process.execPath,
      [PILOTCTL_MAIN, '--json', ...args],
      { HOME: node.home, PILOT_HOME: node.home, PILOT_SOCKET: node.socket, PILOT_REGISTRY: LAB_REGISTRY },
      timeoutMs,
    ),
  ref: (node, args, timeoutMs = 600_000) =>
    run(
      join(REF_BIN, 'pilotctl'),
      ['--json', ...args],
      { HOME: node.home, PILOT_SOCKET: node.socket, PILOT_REGISTRY: LAB_REGISTRY },
      timeoutMs,
    ),
};

async function startReference(lab, place, dir, name) {
  const home = join(dir, name);
  mkdirSync(home, { recursive: true });
  const socket = join(dir, `${name}.sock`);
  const proc = lab.spawn(
    place,
    join(REF_BIN, 'daemon'),
    [
      '-registry',
      LAB_REGISTRY,
      '-beacon',
      LAB_BEACON,
      '-listen',
      ':0',
      '-socket',
      socket,
      '-identity',
      join(home, 'identity.json'),
      '-hostname',
      name,
      '-email',
      `${name}@example.com`,
      '-public',
    ],
    { env: { HOME: home } },
  );
  const node = { impl: 'ref', home, socket, proc, nodeId: 0 };
  node.nodeId = await eventually(`${name} answering info`, async () => {
    if (!proc.running) throw new Error(`exited: ${proc.stderr.slice(-2000)}`);
    const r = await ctl.ref(node, ['info'], 10_000);
    const id = Number(parse(r.stdout)?.data?.node_id);
    return id > 0 ? id : undefined;
  });
  return node;
}

/** A pilot-ts daemon's `info` (undefined when it did not answer). */
async function infoOf(node) {
  const r = await ctl.ts(node, ['info'], 20_000);
  return parse(r.stdout)?.data;
}

/** The transport counters that say how a lossy transfer went, as deltas since `before`. */
const LOSS_COUNTERS = [
  'packetsSent',
  'retransmits',
  'fastRetransmits',
  'lossesDetected',
  'tailLossProbes',
  'rtoTimeouts',
];
function counterDelta(before, after) {
  const out = {};
  for (const name of LOSS_COUNTERS)
    out[name] = (after?.transport?.[name] ?? 0) - (before?.transport?.[name] ?? 0);
  return out;
}

/** BENCH_TRACE=1: the sender's connections (window, RTT, in flight, peer window) every second, on stderr. */
function traceSender(node) {
  let stopped = false;
  (async () => {
    while (!stopped) {
      const info = await infoOf(node).catch(() => undefined);
      for (const c of info?.conn_list ?? []) {
        if (c.bytes_sent < 1024 * 1024) continue;
        process.stderr.write(
          `  trace: cwnd ${c.cong_win} in_flight ${c.in_flight} srtt ${c.srtt_ms} rto ${c.rto_ms} unacked ${c.unacked} peer_win ${c.peer_recv_win} sent ${c.bytes_sent} retx ${info.transport?.retransmits}\n`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  })();
  return {
    stop: () => {
      stopped = true;
    },
  };
}

/** CPU seconds (user + system) a process has used, from /proc (undefined when it is gone). */
function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** UDP drops in a namespace (/proc/net/snmp): RcvbufErrors + SndbufErrors. */
async function udpDrops(lab, place) {
  const text = (await lab.exec(place, 'cat', ['/proc/net/snmp'])).stdout;
  const lines = text.split('\n').filter((line) => line.startsWith('Udp:'));
  if (lines.length < 2) return Number.NaN;
  const names = lines[0].split(/\s+/);
  const values = lines[1].split(/\s+/).map(Number);
  return values[names.indexOf('RcvbufErrors')] + values[names.indexOf('SndbufErrors')];
}

async function startOurs(lab, place, dir, name) {
  const started = await startLabDaemon(lab, place, dir, name, { extra: ['--public'] });
  return { impl: 'ts', home: started.home, socket: started.socket, nodeId: started.nodeId };
}

/** Seconds for `from` to send `file` to `to` with the pilotctl of its kind (undefined: it failed). */
async function sendFile(from, to, file, bytes) {
  const start = performance.now();
  const r = await ctl[from.impl](from, ['send-file', String(to.nodeId), file]);
  const seconds = (performance.now() - start) / 1000;
  const reply = parse(r.stdout);
  if (!r.ok || reply?.status !== 'ok') {
    return { error: (parse(r.stderr)?.message ?? r.stderr ?? String(r.error)).toString().slice(0, 120) };
  }
  // pilotctl's own figure: from the dial's completion to the last ACK (pilot-ts only), as the TCP
  // row counts from the connection's arrival; the wall time includes the process and the dial.
  const own = Number(reply.data?.seconds);
  const transfer = Number.isFinite(own) && own > 0 ? own : seconds;
  return { rate: bytes / 1024 / transfer, wall: bytes / 1024 / seconds, seconds };
}

/** Waits until `to` holds a received file with `sha` (both implementations save under ~/.pilot). */
async function arrived(to, sha) {
  const dirs = [join(to.home, '.pilot', 'received'), join(to.home, 'received')];
  return eventually(
    'the file on the receiving side',
    async () => {
      for (const dir of dirs) {
        if (!existsSync(dir)) continue;
        for (const name of readdirSync(dir)) {
          const hash = createHash('sha256')
            .update(readFileSync(join(dir, name)))
            .digest('hex');
          if (hash === sha) {
            rmSync(join(dir, name));
            return true;
          }
        }
      }
      return undefined;
    },
    60_000,
    200,
  );
}

async function tcpOnce(lab, bytes, port) {
  const receiver = lab.node('p2', TCP_PEER, ['recv', port]);
  await receiver.waitFor((line) => line.event === 'ready', 10_000, 'tcp receiver');
  const sender = lab.node('p1', TCP_PEER, ['send', lab.publicIp('p2'), port, bytes]);
  const done = await receiver.waitFor((line) => line.event === 'done', 600_000, 'tcp transfer');
  await sender.exited;
  return { rate: bytes / 1024 / (Number(done.ms) / 1000), seconds: Number(done.ms) / 1000 };
}

const dir = mkdtempSync(join(tmpdir(), 'pilot-loss-bench-'));
const big = join(dir, 'big.bin');
const small = join(dir, 'small.bin');
const bigBytes = randomBytes(SIZE_MIB * MiB);
const smallBytes = randomBytes(SMALL);
writeFileSync(big, bigBytes);
writeFileSync(small, smallBytes);
const bigSha = createHash('sha256').update(bigBytes).digest('hex');
const smallSha = createHash('sha256').update(smallBytes).digest('hex');

const rows = {
  'pilot-ts': [],
  'pilot-ts-small': [],
  'tcp-bbr': [],
  'reference-small': [],
};
const load = [loadavg()[0]];
let cc = '?';
let pathMtu;
const lab = await NatLab.up('public', 'public');
try {
  for (const place of ['p1', 'p2']) {
    await lab.exec(place, 'sysctl', ['-q', '-w', 'net.ipv4.tcp_congestion_control=bbr']);
  }
  cc = (await lab.exec('p1', 'sysctl', ['-n', 'net.ipv4.tcp_congestion_control'])).stdout.trim();
  await startLabRendezvous(lab, dir);
  const ours = ONLY.has('pilot-ts')
    ? [await startOurs(lab, 'p1', dir, 'alpha'), await startOurs(lab, 'p2', dir, 'beta')]
    : undefined;
  const refs =
    ONLY.has('reference') && existsSync(join(REF_BIN, 'daemon'))
      ? [await startReference(lab, 'p1', dir, 'ref-a'), await startReference(lab, 'p2', dir, 'ref-b')]
      : undefined;
  // Tunnels up before the path is impaired (key exchange and registry lookups are not measured).
  if (ours !== undefined) {
    const warm = await sendFile(ours[0], ours[1], small, SMALL);
    if (warm.error !== undefined) throw new Error(`pilot-ts warm-up failed: ${warm.error}`);
    await arrived(ours[1], smallSha);
    // The datagram size the sender's transport settled on towards the receiver (path MTU probing).
    const peer = (await infoOf(ours[0]))?.peer_list?.find((p) => p.node_id === ours[1].nodeId);
    pathMtu = peer?.path_mtu;
  }
  if (refs !== undefined) {
    const warm = await sendFile(refs[0], refs[1], small, SMALL);
    if (warm.error === undefined) await arrived(refs[1], smallSha).catch(() => undefined);
  }
  await lab.impair('p1', { delayMs: DELAY, lossPercent: LOSS });
  for (let i = 0; i < REPEATS; i++) {
    if (ours !== undefined) {
      const before = await infoOf(ours[0]);
      const beforeReceiver = await infoOf(ours[1]);
      const dropsBefore = [await udpDrops(lab, 'p1'), await udpDrops(lab, 'p2')];
      const pids = [before?.pid, beforeReceiver?.pid];
      const cpuBefore = pids.map(cpuSeconds);
      const trace = TRACE ? traceSender(ours[0]) : undefined;
      const r = await sendFile(ours[0], ours[1], big, SIZE_MIB * MiB);
      trace?.stop();
      if (r.error === undefined) await arrived(ours[1], bigSha);
      r.counters = counterDelta(before, await infoOf(ours[0]));
      r.acks = counterDelta(beforeReceiver, await infoOf(ours[1])).packetsSent;
      r.drops = [(await udpDrops(lab, 'p1')) - dropsBefore[0], (await udpDrops(lab, 'p2')) - dropsBefore[1]];
      r.cpu = pids.map(
        (pid, i) => (((cpuSeconds(pid) ?? Number.NaN) - (cpuBefore[i] ?? Number.NaN)) * 1000) / SIZE_MIB,
      );
      rows['pilot-ts'].push(r);
      const s = await sendFile(ours[0], ours[1], small, SMALL);
      if (s.error === undefined) await arrived(ours[1], smallSha);
      rows['pilot-ts-small'].push(s);
    }
    if (ONLY.has('tcp-bbr')) rows['tcp-bbr'].push(await tcpOnce(lab, SIZE_MIB * MiB, 7100 + i));
    if (refs !== undefined) {
      const r = await sendFile(refs[0], refs[1], small, SMALL);
      if (r.error === undefined) await arrived(refs[1], smallSha).catch(() => undefined);
      rows['reference-small'].push(r);
    }
    load.push(loadavg()[0]);
    process.stderr.write(`run ${i + 1}/${REPEATS} done\n`);
  }
} finally {
  await lab.close();
  rmSync(dir, { recursive: true, force: true });
}

const fmt = (n, d = 0) => (n === undefined || Number.isNaN(n) ? '–' : n.toFixed(d));
const median = (values) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)];
const rate = (name) => {
  const ok = rows[name].filter((r) => r.error === undefined).map((r) => r.rate);
  return ok.length === 0 ? undefined : median(ok);
};
const tcp = rate('tcp-bbr');
console.log(
  `\n@pilot/interop loss bench: ${DELAY * 2} ms RTT, ${LOSS} % loss each way (impair-wire.py on p1's link), ` +
    `median of ${REPEATS}; TCP congestion control in the lab: ${cc}; pilot-ts datagram size ${pathMtu ?? '?'} B; load average ${load.map((l) => fmt(l, 1)).join(' → ')}`,
);
console.log(
  '| contender | size | KiB/s (median) | every run, KiB/s (wall time with pilotctl start and dial) | ratio to TCP BBR |',
);
console.log('| --- | --- | --- | --- | --- |');
const label = {
  'pilot-ts': ['pilot-ts daemons, pilotctl send-file', `${SIZE_MIB} MiB`],
  'pilot-ts-small': ['pilot-ts daemons, pilotctl send-file', '600 KiB'],
  'tcp-bbr': ['Linux TCP (one Node socket)', `${SIZE_MIB} MiB`],
  'reference-small': ['reference daemons, pilotctl send-file', '600 KiB (its limit is 1 MiB)'],
};
for (const [name, [what, size]] of Object.entries(label)) {
  if (rows[name].length === 0) continue;
  const every = rows[name]
    .map((r) => {
      if (r.error !== undefined) return `failed (${r.error})`;
      return r.wall === undefined || Math.abs(r.wall - r.rate) < 1
        ? fmt(r.rate)
        : `${fmt(r.rate)} (${fmt(r.wall)})`;
    })
    .join(' / ');
  const value = rate(name);
  console.log(
    `| ${what} | ${size} | ${fmt(value)} | ${every} | ${value === undefined || tcp === undefined ? '–' : fmt(value / tcp, 2)} |`,
  );
}
const sender = rows['pilot-ts'].filter((r) => r.counters !== undefined);
if (sender.length > 0) {
  console.log(
    `pilot-ts sender per ${SIZE_MIB} MiB run (${LOSS_COUNTERS.join(', ')}): ` +
      sender.map((r) => LOSS_COUNTERS.map((name) => r.counters[name]).join('/')).join(' · '),
  );
  console.log(`pilot-ts receiver's packets (ACKs) per run: ${sender.map((r) => r.acks).join(' · ')}`);
  console.log(`UDP socket buffer drops (p1/p2) per run: ${sender.map((r) => r.drops.join('/')).join(' · ')}`);
  console.log(
    `pilot-ts daemons' CPU per MiB (sender/receiver, ms, including the file's IPC and disk): ` +
      sender.map((r) => r.cpu.map((ms) => fmt(ms, 1)).join('/')).join(' · '),
  );
}
