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

const status = await runCli(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  stderrIsTty: process.stderr.isTTY === true,
  signal: stop.signal,
});
process.exitCode = status;
// A command's leftovers (a lingering stream timer) must not keep pilotctl alive once it is done.
if (
  process.argv[2] !== '_daemon-run' &&
  !(process.argv[2] === 'daemon' && process.argv.includes('--foreground'))
) {
  setTimeout(() => process.exit(status), 50).unref();
}
