// An impaired path across the NAT lab (/work/shared/natlab): lab.sh builds p1 behind an
// endpoint-independent NAT (r1) and p2 as a public host, then r1's WAN link is replaced by two TAP
// devices joined by impair-wire.py, which delays, drops and reorders every frame in user space
// (this kernel has no netem). Traffic from p1 to p2 therefore crosses a real NAT and the impaired
// wire: p1 10.1.0.2 → r1 (masquerade to 198.18.0.10) → [impair-wire] → pub bridge → p2 198.18.0.21.
// Root only; `labUnavailable()` says why not otherwise. Used by bench/run.mjs and the lab tests.
import { execFile, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const LAB_DIR = process.env.PILOT_NATLAB_DIR ?? '/work/shared/natlab';
const LAB_SCRIPT = join(LAB_DIR, 'lab.sh');
const IMPAIR_SCRIPT = join(LAB_DIR, 'impair-wire.py');
/** Where the receiver (p2, a public host) is reached from p1. */
export const RECEIVER_HOST = '198.18.0.21';

function onPath(binary) {
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/bin', '/sbin']);
  return dirs.some((dir) => {
    try {
      return statSync(join(dir, binary)).isFile();
    } catch {
      return false;
    }
  });
}

/** Why the impaired lab cannot run here, or undefined when it can. */
export function labUnavailable() {
  if (process.platform !== 'linux') return 'the NAT lab needs Linux network namespaces';
  if (process.getuid?.() !== 0) return 'the NAT lab needs root (CI runs as root)';
  if (!existsSync(LAB_SCRIPT) || !existsSync(IMPAIR_SCRIPT)) return `no lab scripts in ${LAB_DIR}`;
  if (!existsSync('/dev/net/tun')) return 'impair-wire.py needs /dev/net/tun';
  for (const binary of ['ip', 'nft', 'conntrack', 'python3']) {
    if (!onPath(binary)) return `the NAT lab needs ${binary}`;
  }
  return undefined;
}

function run(file, args, env = {}) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env: { ...process.env, ...env }, timeout: 20_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(' ')} failed: ${stderr || error.message}`));
      else resolve(stdout);
    });
  });
}

/** A child process read as JSON lines. */
export class LabProcess {
  #child;
  #lines = [];
  #waiters = new Set();
  stderr = '';

  /** Every JSON line so far. */
  get lines() {
    return this.#lines;
  }
  exited;

  constructor(child) {
    this.#child = child;
    let buffered = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      for (let at = buffered.indexOf('\n'); at >= 0; at = buffered.indexOf('\n')) {
        const line = buffered.slice(0, at);
        buffered = buffered.slice(at + 1);
        try {
          this.#lines.push(JSON.parse(line));
        } catch {
          this.#lines.push({ event: 'text', line });
        }
        this.#wake();
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) =>
      child.once('close', (code) => {
        this.#wake();
        resolve(code);
      }),
    );
  }

  #wake() {
    for (const wake of [...this.#waiters]) wake();
  }

  /** The first JSON line whose `event` is `event`, waiting up to `ms`. */
  async event(event, ms = 20_000) {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.#lines.find((line) => line.event === event);
      if (found !== undefined) return found;
      if (this.#child.exitCode !== null || this.#child.signalCode !== null)
        throw new Error(`process exited before "${event}": ${this.stderr.slice(-2000)}`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `no "${event}" within ${ms} ms; got ${JSON.stringify(this.#lines)} ${this.stderr.slice(-2000)}`,
        );
      await new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.#waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.#waiters.add(done);
      });
    }
  }

  async kill() {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
    await this.exited;
  }
}

let counter = 0;

/** The lab with the impaired WAN link. `ImpairedLab.up()`, then always `close()` (in finally). */
export class ImpairedLab {
  nl;
  #processes = [];
  #wire;

  constructor(nl) {
    this.nl = nl;
  }

  static async up() {
    counter++;
    const lab = new ImpairedLab(`pt${process.pid % 100_000}${counter}`);
    const ns = (place) => `${lab.nl}-${place}`;
    await lab.#lab(['down']).catch(() => '');
    try {
      await lab.#lab(['up', 'ei', 'public']);
      // Swap r1's veth WAN link for a TAP pair that impair-wire.py joins; the nft rules match the
      // interface name "wan", so the NAT keeps working on the TAP.
      await run('ip', ['-n', ns('r1'), 'link', 'del', 'wan']);
      await run('ip', ['-n', ns('r1'), 'tuntap', 'add', 'dev', 'wan', 'mode', 'tap']);
      await run('ip', ['-n', ns('r1'), 'addr', 'add', '198.18.0.10/24', 'dev', 'wan']);
      await run('ip', ['-n', ns('pub'), 'tuntap', 'add', 'dev', 'r1', 'mode', 'tap']);
      await run('ip', ['-n', ns('pub'), 'link', 'set', 'r1', 'master', 'br0']);
    } catch (error) {
      await lab.close();
      throw error;
    }
    return lab;
  }

  #lab(args) {
    return run('bash', [LAB_SCRIPT, ...args], { NL: this.nl });
  }

  /** (Re)starts impair-wire.py on the WAN link: one-way delay, loss, jitter (reordering). */
  async impair(delayMs, lossPercent, jitterMs = 0) {
    await this.#wire?.kill();
    const child = spawn(
      'python3',
      [
        IMPAIR_SCRIPT,
        `${this.nl}-r1`,
        'wan',
        `${this.nl}-pub`,
        'r1',
        String(delayMs),
        String(lossPercent),
        String(jitterMs),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.#wire = new LabProcess(child);
    // The TAPs carry traffic once the script holds them; bring them up after it started.
    await new Promise((resolve) => setTimeout(resolve, 300));
    if (child.exitCode !== null) throw new Error(`impair-wire.py exited: ${this.#wire.stderr}`);
    await run('ip', ['-n', `${this.nl}-r1`, 'link', 'set', 'wan', 'up']);
    await run('ip', ['-n', `${this.nl}-pub`, 'link', 'set', 'r1', 'up']);
  }

  /** The TCP congestion control a namespace uses. */
  async tcpCongestionOf(place) {
    const out = await run('ip', [
      'netns',
      'exec',
      `${this.nl}-${place}`,
      'sysctl',
      '-n',
      'net.ipv4.tcp_congestion_control',
    ]);
    return out.trim();
  }

  /** Runs `node script args…` inside p1 or p2. */
  node(place, script, args) {
    return this.exec(place, process.execPath, [script, ...args]);
  }

  /** Runs a program inside p1 or p2, read as JSON lines. */
  exec(place, file, args) {
    const child = spawn('ip', ['netns', 'exec', `${this.nl}-${place}`, file, ...args.map(String)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const proc = new LabProcess(child);
    this.#processes.push(proc);
    return proc;
  }

  async close() {
    await Promise.all(this.#processes.map((proc) => proc.kill()));
    this.#processes = [];
    await this.#wire?.kill();
    this.#wire = undefined;
    await this.#lab(['down']).catch(() => '');
  }
}
