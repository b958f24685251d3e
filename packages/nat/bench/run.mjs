// `pnpm bench`: the NAT matrix in the lab (root only) and the STUN codec's speed. Each figure is
// printed as an absolute value and as a ratio against a baseline measured in the same run:
// public + public for the matrix, a DataView read of the same header for the codec.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodeStunMessage, encodeBindingRequest } from '../dist/index.js';

const LAB = process.env.PILOT_NATLAB ?? '/work/shared/natlab/lab.sh';
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

function lines(child) {
  const out = [];
  let buffered = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    buffered += chunk;
    for (let at = buffered.indexOf('\n'); at >= 0; at = buffered.indexOf('\n')) {
      try {
        out.push(JSON.parse(buffered.slice(0, at)));
      } catch {}
      buffered = buffered.slice(at + 1);
    }
  });
  return out;
}

async function waitFor(out, event, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = out.find((line) => line.event === event);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no ${event}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function pair(m1, m2, index) {
  const env = { ...process.env, NL: `pb${process.pid % 10000}${index}` };
  const lab = (...args) => execFileSync('bash', [LAB, ...args], { env, stdio: 'ignore' });
  lab('down');
  lab('up', m1, m2);
  const children = [];
  const run = (place, script, args) => {
    const child = spawn('bash', [LAB, 'exec', place, process.execPath, script, ...args.map(String)], { env });
    children.push(child);
    return { child, out: lines(child) };
  };
  try {
    const beacon = run('pub', beaconScript, []);
    await waitFor(beacon.out, 'ready', 5000);
    const p1 = run('p1', agentScript, [101, 202, 40000]);
    const p2 = run('p2', agentScript, [202, 101, 40000]);
    await Promise.all([waitFor(p1.out, 'ready', 10_000), waitFor(p2.out, 'ready', 10_000)]);
    p1.child.stdin.write(`peer ${(await waitFor(p2.out, 'classify', 1)).mapping}\n`);
    p2.child.stdin.write(`peer ${(await waitFor(p1.out, 'classify', 1)).mapping}\n`);
    p1.child.stdin.write('punch\n');
    const [c1, c2] = await Promise.all([
      waitFor(p1.out, 'connected', 10_000),
      waitFor(p2.out, 'connected', 10_000),
    ]);
    const how = (c) => (c.via ? `${c.path}(${c.via})` : c.path);
    return { path: `${how(c1)} / ${how(c2)}`, ms: c1.ms };
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    lab('down');
  }
}

async function matrix() {
  if (process.getuid?.() !== 0 || !existsSync(LAB)) {
    console.log('NAT matrix skipped: needs root and the natlab script');
    return;
  }
  const modes = ['public', 'fullcone', 'ei', 'sym'];
  const pairs = [];
  for (let i = 0; i < modes.length; i++)
    for (let j = i; j < modes.length; j++) pairs.push([modes[i], modes[j]]);
  console.log('NAT matrix (time from punch request to the first frame from the peer, on p1)');
  let baseline;
  for (const [index, [m1, m2]] of pairs.entries()) {
    const { path, ms } = await pair(m1, m2, index);
    baseline ??= Math.max(ms, 1);
    console.log(
      `  ${`${m1} + ${m2}`.padEnd(20)} ${path.padEnd(36)} ${String(ms).padStart(5)} ms  ${(ms / baseline).toFixed(1)}x`,
    );
  }
}

codec();
await matrix();
