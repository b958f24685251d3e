#!/usr/bin/env node
import { runDemo } from './run-demo.js';

// The demonstration finishes in well under a second; SIGINT/SIGTERM still end it cleanly.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: stopping\n`);
    process.exit(130);
  });
}

const json = process.argv.includes('--json');
const lines: string[] = [];
const result = await runDemo((line) => {
  if (json) lines.push(line);
  else process.stdout.write(`${line}\n`);
});
const ok = result.keysAgree && result.delivered === 'hello' && result.replayRejectedWith === 'CRYPTO_REPLAY';
if (json)
  process.stdout.write(
    `${JSON.stringify({ status: ok ? 'ok' : 'error', data: { ...result, log: lines } })}\n`,
  );
else
  process.stdout.write(
    `\n${ok ? 'demo finished: two nodes exchanged sealed Pilot packets over UDP' : 'demo FAILED'}\n`,
  );
process.exitCode = ok ? 0 : 1;
