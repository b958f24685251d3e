// One NAT lab (/work/shared/natlab/lab.sh) per test: a unique NL= prefix so test files can each own
// one, node scripts run inside its namespaces, NAT changes and impairment while they run, and a
// teardown that removes everything whatever happened.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  type LabNamespace,
  type LabPeer,
  type LabRouter,
  localIpOf,
  type NatPlacement,
  publicIpOf,
  type RouterMode,
  routerOf,
} from './addresses.js';
import { IMPAIR_WIRE_SCRIPT, NAT_LAB_SCRIPT } from './availability.js';
import { LabProcess } from './lab-process.js';

export interface NatLabOptions {
  /** Namespace prefix (NL=); unique per process and lab by default. Keep it short (≤ 10 chars). */
  readonly prefix?: string;
  /** `ROUTER_FW`: routers drop unsolicited new inbound packets, as home routers do (default true). */
  readonly routerFirewall?: boolean;
  /** `NAT_BACKEND` (default nft). */
  readonly backend?: 'nft' | 'iptables';
}

export interface SpawnInLabOptions {
  /** Added to the test process's environment. */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
}

/** One-way impairment of every Ethernet frame on a link, both directions (impair-wire.py). */
export interface Impairment {
  readonly delayMs: number;
  readonly lossPercent?: number;
  /** Extra random delay up to this; it reorders frames (1–2 ms is realistic). */
  readonly jitterMs?: number;
}

const SBIN = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'];

function binary(name: string): string {
  for (const dir of SBIN) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  return name;
}

function run(file: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, timeout: 20_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(' ')} failed: ${stderr || error.message}`));
      else resolve({ stdout, stderr });
    });
  });
}

let labs = 0;

export class NatLab {
  /** The NL= prefix: namespaces are `${prefix}-p1`, `${prefix}-r1`, …, `${prefix}-pub`. */
  readonly prefix: string;
  readonly #placements: Record<LabPeer, NatPlacement>;
  readonly #env: NodeJS.ProcessEnv;
  readonly #processes = new Set<LabProcess>();
  readonly #wires = new Map<LabPeer, LabProcess>();
  readonly #ip = binary('ip');
  #closed: Promise<void> | undefined;

  private constructor(prefix: string, placements: Record<LabPeer, NatPlacement>, options: NatLabOptions) {
    this.prefix = prefix;
    this.#placements = placements;
    this.#env = {
      ...process.env,
      NL: prefix,
      ROUTER_FW: options.routerFirewall === false ? '0' : '1',
      NAT_BACKEND: options.backend ?? 'nft',
    };
  }

  /**
   * Builds a lab with `p1` and `p2` placed as given (`lab.sh up p1 p2`). Always `close()` it (in a
   * `finally`). Check `labUnavailable()` first: this needs root and the lab's tools.
   */
  static async up(p1: NatPlacement, p2: NatPlacement, options: NatLabOptions = {}): Promise<NatLab> {
    labs++;
    const prefix = options.prefix ?? `tk${process.pid % 100_000}${labs}`;
    const lab = new NatLab(prefix, { p1, p2 }, options);
    // A crashed earlier run may have left these names behind.
    await lab.#lab(['down']).catch(() => undefined);
    try {
      await lab.#lab(['up', p1, p2]);
    } catch (error) {
      await lab.close();
      throw error;
    }
    return lab;
  }

  #lab(args: readonly string[]): Promise<ExecResult> {
    return run('bash', [NAT_LAB_SCRIPT, ...args], this.#env);
  }

  /** The kernel name of a lab namespace (for `ip netns exec` and friends). */
  namespace(place: LabNamespace): string {
    return `${this.prefix}-${place}`;
  }

  /** Where `peer` currently sits (`nat()` changes a router's mode). */
  placement(peer: LabPeer): NatPlacement {
    return this.#placements[peer];
  }

  /** The peer's own address (its LAN address behind a router). */
  localIp(peer: LabPeer): string {
    return localIpOf(peer, this.#placements[peer]);
  }

  /** The address `pub` sees the peer's packets come from. */
  publicIp(peer: LabPeer): string {
    return publicIpOf(peer, this.#placements[peer]);
  }

  /** Starts `command args…` inside `place`, stdout read as JSON lines; `close()` kills it. */
  spawn(
    place: LabNamespace,
    command: string,
    args: readonly (string | number)[],
    options: SpawnInLabOptions = {},
  ): LabProcess {
    this.#assertOpen();
    const child = spawn(this.#ip, ['netns', 'exec', this.namespace(place), command, ...args.map(String)], {
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    });
    const proc = new LabProcess(child);
    this.#processes.add(proc);
    void proc.exited.then(() => this.#processes.delete(proc));
    return proc;
  }

  /** Runs `node script args…` inside `place` with this Node binary. */
  node(
    place: LabNamespace,
    script: string,
    args: readonly (string | number)[] = [],
    options: SpawnInLabOptions = {},
  ): LabProcess {
    return this.spawn(place, process.execPath, [script, ...args], options);
  }

  /** Runs a short command inside `place` and returns its output (rejects on a non-zero exit). */
  exec(place: LabNamespace, command: string, args: readonly (string | number)[] = []): Promise<ExecResult> {
    this.#assertOpen();
    return run(this.#ip, ['netns', 'exec', this.namespace(place), command, ...args.map(String)], this.#env);
  }

  /**
   * Changes a router's NAT mode and flushes its conntrack table (`lab.sh nat`): every mapping
   * through it changes. Not for a `public` side (there is no router).
   */
  async nat(router: LabRouter, mode: RouterMode): Promise<void> {
    const peer: LabPeer = router === 'r1' ? 'p1' : 'p2';
    if (this.#placements[peer] === 'public') throw new Error(`${peer} is public: ${router} does not exist`);
    await this.#lab(['nat', router, mode]);
    this.#placements[peer] = mode;
  }

  /** Forgets every mapping of a router (`conntrack -F`) while keeping its mode: the next packet out gets a new one. */
  async flushConntrack(router: LabRouter): Promise<void> {
    await this.exec(router, binary('conntrack'), ['-F']);
  }

  /**
   * Puts `impair-wire.py` on the link between `peer` and its router (or the public bridge for a
   * `public` peer): the veth pair is replaced by two TAP devices with the same addresses, joined in
   * user space with the given delay, loss and jitter (this kernel has no netem). Calling it again
   * changes the impairment; `close()` stops it. Needs `labUnavailable({ impair: true })` to be undefined.
   */
  async impair(peer: LabPeer, impairment: Impairment): Promise<void> {
    this.#assertOpen();
    const previous = this.#wires.get(peer);
    if (previous !== undefined) {
      await previous.kill('SIGTERM');
      this.#wires.delete(peer);
    } else {
      await this.#replaceWithTaps(peer);
    }
    const [nearNs, nearTap, farNs, farTap] = this.#tapEnds(peer);
    const wire = this.spawn('pub', 'python3', [
      IMPAIR_WIRE_SCRIPT,
      nearNs,
      nearTap,
      farNs,
      farTap,
      impairment.delayMs,
      impairment.lossPercent ?? 0,
      impairment.jitterMs ?? 0,
    ]);
    this.#wires.set(peer, wire);
    // A TAP has carrier once impair-wire.py holds it open: wait for both ends.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const carriers = await Promise.all([
        this.#hasCarrier(nearNs, nearTap),
        this.#hasCarrier(farNs, farTap),
      ]);
      if (carriers.every(Boolean)) break;
      if (!wire.running) throw new Error(`impair-wire.py exited: ${wire.stderr.slice(-1000)}`);
      if (Date.now() > deadline) throw new Error('impair-wire.py did not open its TAP devices within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** [router-side namespace, its device, peer namespace, its device] of the peer's link. */
  #tapEnds(peer: LabPeer): [string, string, string, string] {
    const index = peer === 'p1' ? 1 : 2;
    return this.#placements[peer] === 'public'
      ? [this.namespace('pub'), `p${index}`, this.namespace(peer), 'eth0']
      : [this.namespace(routerOf(peer)), 'lan', this.namespace(peer), 'eth0'];
  }

  async #replaceWithTaps(peer: LabPeer): Promise<void> {
    const [nearNs, nearTap, farNs, farTap] = this.#tapEnds(peer);
    const ip = (...args: string[]): Promise<ExecResult> => run(this.#ip, args, this.#env);
    const isPublic = this.#placements[peer] === 'public';
    const lan = peer === 'p1' ? '10.1.0' : '10.2.0';
    // Deleting one end of a veth pair deletes both (and the peer's routes through it).
    await ip('-n', nearNs, 'link', 'del', nearTap);
    await ip('-n', nearNs, 'tuntap', 'add', 'dev', nearTap, 'mode', 'tap');
    await ip('-n', farNs, 'tuntap', 'add', 'dev', farTap, 'mode', 'tap');
    if (isPublic) {
      await ip('-n', nearNs, 'link', 'set', nearTap, 'master', 'br0');
      await ip('-n', farNs, 'addr', 'add', `${this.localIp(peer)}/24`, 'dev', farTap);
    } else {
      await ip('-n', nearNs, 'addr', 'add', `${lan}.1/24`, 'dev', nearTap);
      await ip('-n', farNs, 'addr', 'add', `${lan}.2/24`, 'dev', farTap);
    }
    await ip('-n', nearNs, 'link', 'set', nearTap, 'up');
    await ip('-n', farNs, 'link', 'set', farTap, 'up');
    if (!isPublic) await ip('-n', farNs, 'route', 'add', 'default', 'via', `${lan}.1`);
  }

  async #hasCarrier(namespace: string, device: string): Promise<boolean> {
    const { stdout } = await run(this.#ip, ['-n', namespace, '-o', 'link', 'show', device], this.#env);
    return !stdout.includes('NO-CARRIER');
  }

  /** Kills every process started in the lab and removes its namespaces. Safe to repeat. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await Promise.all([...this.#processes].map((proc) => proc.kill()));
      await this.#lab(['down']).catch(() => undefined);
    })();
    return this.#closed;
  }

  #assertOpen(): void {
    if (this.#closed !== undefined) throw new Error(`lab ${this.prefix} is closed`);
  }
}
