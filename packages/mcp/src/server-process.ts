import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { describeError, McpErrorCode, mcpError } from './errors.js';
import type { McpLog } from './log.js';

export interface ServerCommand {
  readonly command: string;
  readonly args?: readonly string[] | undefined;
  readonly env?: NodeJS.ProcessEnv | undefined;
  readonly cwd?: string | undefined;
  /** After stdin closes (or on `stop()`), how long the server has to exit before SIGKILL (default 2000 ms). */
  readonly killGraceMs?: number | undefined;
}

const DEFAULT_KILL_GRACE_MS = 2000;
const MAX_STDERR_LINE = 4096;

/**
 * One stdio MCP server process: its stdin/stdout are the session's bytes, its stderr goes to the log
 * line by line, and `stop()` ends stdin, then SIGTERM, then SIGKILL after a grace period.
 */
export class ServerProcess {
  readonly child: ChildProcessWithoutNullStreams;
  /** Resolves once the process exited (or failed to start); never rejects. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>;
  private readonly graceMs: number;
  private killTimer: NodeJS.Timeout | undefined;
  private hasExited = false;

  constructor(spec: ServerCommand, log: McpLog, fields: Record<string, unknown>) {
    this.graceMs = spec.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
    this.child = spawn(spec.command, [...(spec.args ?? [])], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: spec.env ?? process.env,
      ...(spec.cwd === undefined ? {} : { cwd: spec.cwd }),
    });
    // A server that exits early makes writes fail with EPIPE; the exit is what matters, so log only.
    this.child.stdin.on('error', (error) =>
      log('debug', 'mcp server stdin error', { ...fields, error: describeError(error) }),
    );
    this.child.stdout.on('error', (error) =>
      log('debug', 'mcp server stdout error', { ...fields, error: describeError(error) }),
    );
    this.forwardStderr(log, fields);
    this.exited = new Promise((resolve) => {
      this.child.once('error', (error) => {
        this.markExited();
        const wrapped = mcpError(
          McpErrorCode.SPAWN_FAILED,
          `cannot start "${spec.command}": ${describeError(error)}`,
          error,
        );
        log('error', wrapped.message, { ...fields, code: wrapped.code });
        resolve({ code: null, signal: null, error: wrapped });
      });
      this.child.once('exit', (code, signal) => {
        this.markExited();
        log('info', 'mcp server exited', { ...fields, pid: this.child.pid, code, signal });
        resolve({ code, signal });
      });
    });
  }

  get running(): boolean {
    return !this.hasExited;
  }

  /** Ends stdin so a well-behaved server exits by itself; kills it if it has not after the grace period. */
  stop(): void {
    if (this.hasExited) return;
    if (!this.child.stdin.writableEnded) this.child.stdin.end();
    if (this.killTimer !== undefined) return;
    this.killTimer = setTimeout(() => {
      this.child.kill('SIGTERM');
      this.killTimer = setTimeout(() => this.child.kill('SIGKILL'), this.graceMs);
    }, this.graceMs);
  }

  /** SIGTERM now, SIGKILL after the grace period. */
  kill(): void {
    if (this.hasExited) return;
    if (this.killTimer !== undefined) clearTimeout(this.killTimer);
    this.child.kill('SIGTERM');
    this.killTimer = setTimeout(() => this.child.kill('SIGKILL'), this.graceMs);
  }

  private markExited(): void {
    this.hasExited = true;
    if (this.killTimer !== undefined) clearTimeout(this.killTimer);
    this.killTimer = undefined;
  }

  private forwardStderr(log: McpLog, fields: Record<string, unknown>): void {
    let pending = '';
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (text: string) => {
      pending += text;
      let index = pending.indexOf('\n');
      while (index !== -1) {
        const line = pending.slice(0, index).replace(/\r$/, '');
        pending = pending.slice(index + 1);
        if (line.length > 0)
          log('info', 'mcp server stderr', { ...fields, line: line.slice(0, MAX_STDERR_LINE) });
        index = pending.indexOf('\n');
      }
      if (pending.length > MAX_STDERR_LINE) {
        log('info', 'mcp server stderr', { ...fields, line: pending.slice(0, MAX_STDERR_LINE) });
        pending = '';
      }
    });
    this.child.stderr.on('end', () => {
      if (pending.length > 0) log('info', 'mcp server stderr', { ...fields, line: pending });
    });
  }
}
