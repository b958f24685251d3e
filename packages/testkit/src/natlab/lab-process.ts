// A process started inside a lab namespace, its stdout read as JSON lines (one event per line,
// `{ "event": "…", … }`; other lines are kept as `{ event: 'text', line }`).
import type { ChildProcess } from 'node:child_process';

export type LabLine = Readonly<Record<string, unknown>>;

export interface LabExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export class LabProcess {
  readonly #child: ChildProcess;
  readonly #lines: LabLine[] = [];
  readonly #waiters = new Set<() => void>();
  /** Settles when the process has exited and its pipes have closed. */
  readonly exited: Promise<LabExit>;
  /** Everything written to stdout and stderr so far. */
  stdout = '';
  stderr = '';

  constructor(child: ChildProcess) {
    this.#child = child;
    let buffered = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      this.stdout += chunk;
      buffered += chunk;
      for (let at = buffered.indexOf('\n'); at >= 0; at = buffered.indexOf('\n')) {
        this.#push(buffered.slice(0, at));
        buffered = buffered.slice(at + 1);
      }
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.stderr += chunk;
      this.#wake();
    });
    // A closed stdin (the process exited) must not crash the test with EPIPE.
    child.stdin?.on('error', () => {});
    this.exited = new Promise((resolve) => {
      child.once('error', (error) => {
        this.stderr += `\nspawn failed: ${error.message}`;
      });
      child.once('close', (code, signal) => {
        if (buffered !== '') this.#push(buffered);
        this.#wake();
        resolve({ code, signal });
      });
    });
  }

  #push(line: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      parsed = undefined;
    }
    const record =
      typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
        ? (parsed as LabLine)
        : { event: 'text', line };
    this.#lines.push(record);
    this.#wake();
  }

  #wake(): void {
    for (const wake of [...this.#waiters]) wake();
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Every stdout line so far, parsed. */
  get lines(): readonly LabLine[] {
    return this.#lines;
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** Writes one line to the process's stdin. */
  write(line: string): void {
    if (this.#child.stdin?.writable === true) this.#child.stdin.write(`${line}\n`);
  }

  /** Closes the process's stdin (scripts may take that as "stop"). */
  end(): void {
    this.#child.stdin?.end();
  }

  /** The first line matching `match`, waiting up to `ms`; rejects early when the process exits. */
  async waitFor(match: (line: LabLine) => boolean, ms = 10_000, what = 'a matching line'): Promise<LabLine> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.#lines.find(match);
      if (found !== undefined) return found;
      if (!this.running) throw new Error(`process exited before ${what}: ${this.stderr.slice(-2000)}`);
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `no ${what} within ${ms} ms; got ${JSON.stringify(this.#lines).slice(-2000)} ${this.stderr.slice(-2000)}`,
        );
      }
      await new Promise<void>((resolve) => {
        const waiters = this.#waiters;
        const timer = setTimeout(done, left);
        function done(): void {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        }
        waiters.add(done);
      });
    }
  }

  /** The first line whose `event` is `event`, waiting up to `ms`. */
  event(event: string, ms = 10_000): Promise<LabLine> {
    return this.waitFor((line) => line.event === event, ms, `"${event}"`);
  }

  /** Sends a signal (the child is the script itself: `ip netns exec` execs it). */
  signal(signal: NodeJS.Signals): void {
    if (this.running) this.#child.kill(signal);
  }

  /** Sends `signal` (SIGKILL by default) unless already exited, and waits for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<LabExit> {
    this.signal(signal);
    return this.exited;
  }
}
