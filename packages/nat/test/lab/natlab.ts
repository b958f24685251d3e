// Runs /work/shared/natlab/lab.sh (network namespaces with nftables NAT) for one test: a unique
// NL= prefix, node scripts started inside the namespaces, and teardown whatever happens.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const LAB_SCRIPT: string = process.env.PILOT_NATLAB ?? '/work/shared/natlab/lab.sh';
export type Place = 'p1' | 'p2' | 'r1' | 'r2' | 'pub';
export type NatMode = 'ei' | 'fullcone' | 'sym' | 'public' | 'none';

function onPath(binary: string): boolean {
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/bin', '/sbin']);
  return dirs.some((dir) => {
    try {
      return statSync(join(dir, binary)).isFile();
    } catch {
      return false;
    }
  });
}

/** Why the lab cannot run here, or undefined when it can. */
export function labUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'the NAT lab needs Linux network namespaces';
  if (process.getuid?.() !== 0) return 'the NAT lab needs root (CI runs as root)';
  if (!existsSync(LAB_SCRIPT)) return `no lab script at ${LAB_SCRIPT}`;
  for (const binary of ['ip', 'nft', 'conntrack']) {
    if (!onPath(binary))
      return `the NAT lab needs ${binary} (apt-get install -y iproute2 nftables conntrack)`;
  }
  return undefined;
}

function runLab(nl: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      [LAB_SCRIPT, ...args],
      { env: { ...process.env, NL: nl }, timeout: 20_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`lab.sh ${args.join(' ')} failed: ${stderr || error.message}`));
        else resolve(stdout);
      },
    );
  });
}

/** A node process inside a namespace, read as JSON lines. */
export class LabProcess {
  readonly #child: ChildProcess;
  readonly #lines: unknown[] = [];
  readonly #waiters = new Set<() => void>();
  readonly exited: Promise<number | null>;
  stderr = '';

  constructor(child: ChildProcess) {
    this.#child = child;
    let buffered = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      buffered += chunk;
      for (let at = buffered.indexOf('\n'); at >= 0; at = buffered.indexOf('\n')) {
        const line = buffered.slice(0, at);
        buffered = buffered.slice(at + 1);
        try {
          this.#lines.push(JSON.parse(line));
        } catch {
          this.#lines.push({ event: 'text', line });
        }
        for (const wake of [...this.#waiters]) wake();
      }
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) =>
      child.once('close', (code) => {
        for (const wake of [...this.#waiters]) wake();
        resolve(code);
      }),
    );
  }

  get lines(): readonly Record<string, unknown>[] {
    return this.#lines as Record<string, unknown>[];
  }

  write(line: string): void {
    this.#child.stdin?.write(`${line}\n`);
  }

  end(): void {
    this.#child.stdin?.end();
  }

  /** The first line whose `event` is `event`, waiting up to `ms`. */
  async event(event: string, ms = 10_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.lines.find((line) => line.event === event);
      if (found !== undefined) return found;
      if (this.#child.exitCode !== null || this.#child.signalCode !== null) {
        throw new Error(`process exited before "${event}": ${this.stderr.slice(-2000)}`);
      }
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `no "${event}" within ${ms} ms; got ${JSON.stringify(this.lines)} ${this.stderr.slice(-2000)}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done(): void {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        }
        const waiters = this.#waiters;
        waiters.add(done);
      });
    }
  }

  async kill(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
    await this.exited;
  }
}

let counter = 0;

/** A lab: `up` on creation, `down` in `close()` (always call it, in finally). */
export class NatLab {
  readonly nl: string;
  readonly #processes: LabProcess[] = [];

  private constructor(nl: string) {
    this.nl = nl;
  }

  static async up(mode1: NatMode, mode2: NatMode): Promise<NatLab> {
    counter++;
    const nl = `pn${process.pid % 100_000}${counter}`;
    const lab = new NatLab(nl);
    // A previous crashed run may have left these names behind.
    await runLab(nl, ['down']).catch(() => '');
    try {
      await runLab(nl, ['up', mode1, mode2]);
    } catch (error) {
      await lab.close();
      throw error;
    }
    return lab;
  }

  /** Runs `node script args…` inside namespace `place`. */
  node(place: Place, script: string, args: readonly (string | number)[]): LabProcess {
    const child = spawn('bash', [LAB_SCRIPT, 'exec', place, process.execPath, script, ...args.map(String)], {
      env: { ...process.env, NL: this.nl },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const proc = new LabProcess(child);
    this.#processes.push(proc);
    return proc;
  }

  /** `lab.sh nat r1|r2 MODE` (also flushes that router's conntrack table). */
  async nat(router: 'r1' | 'r2', mode: NatMode): Promise<void> {
    await runLab(this.nl, ['nat', router, mode]);
  }

  async close(): Promise<void> {
    await Promise.all(this.#processes.map((proc) => proc.kill()));
    await runLab(this.nl, ['down']).catch(() => '');
  }
}
