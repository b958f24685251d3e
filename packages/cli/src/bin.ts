#!/usr/bin/env node
import { runCli } from './cli.js';

const stop = new AbortController();
let signals = 0;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    signals += 1;
    // The first signal lets a long-running command report what it has; a second one means now.
    if (signals > 1) process.exit(130);
    stop.abort();
  });
}

/** The exit status is set; a command's leftovers must not keep pilotctl alive once it is done. */
function finish(status: number): void {
  process.exitCode = status;
  // A lingering stream timer, say; the daemon itself (`_daemon-run`, `--foreground`) lives on.
  if (
    process.argv[2] !== '_daemon-run' &&
    !(process.argv[2] === 'daemon' && process.argv.includes('--foreground'))
  ) {
    setTimeout(() => process.exit(status), 50).unref();
  }
}

// No top-level await: the bundled executable (dist/pilotctl.cjs) is CommonJS, which starts faster.
runCli(process.argv.slice(2), {
  // process.stdin is built on first access (a stream over the pipe or file: a few ms of a cold
  // start); most commands never read it.
  get stdin() {
    return process.stdin;
  },
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  stderrIsTty: process.stderr.isTTY === true,
  signal: stop.signal,
}).then(finish, (error: unknown) => {
  // runCli reports every failure itself; this is a bug in pilotctl.
  process.stderr.write(
    `pilotctl: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  finish(1);
});
