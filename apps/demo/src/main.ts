#!/usr/bin/env node
import { runQuickstart } from './quickstart.js';
import { runDemo } from './run-demo.js';

// `npm start`: a rendezvous and two daemons on loopback find, trust, ping and send a file to each
// other (`--frames` shows instead every tunnel frame of a key exchange and a sealed packet).
const json = process.argv.includes('--json');
const frames = process.argv.includes('--frames');
const lines: string[] = [];
const log = (line: string): void => {
  if (json) lines.push(line);
  else process.stdout.write(`${line}\n`);
};

const controller = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: stopping\n`);
    controller.abort();
    process.exitCode = 130;
  });
}

if (frames) {
  const result = await runDemo(log);
  const ok =
    result.keysAgree && result.delivered === 'hello' && result.replayRejectedWith === 'CRYPTO_REPLAY';
  if (json)
    process.stdout.write(
      `${JSON.stringify({ status: ok ? 'ok' : 'error', data: { ...result, log: lines } })}\n`,
    );
  else
    process.stdout.write(`\n${ok ? 'two nodes exchanged sealed Pilot packets over UDP' : 'demo FAILED'}\n`);
  process.exitCode = ok ? 0 : 1;
} else {
  try {
    const result = await runQuickstart({ log, signal: controller.signal });
    const ok = result.file.arrivedIntact && result.ping.replies > 0;
    if (json)
      process.stdout.write(
        `${JSON.stringify({ status: ok ? 'ok' : 'error', data: { ...result, log: lines } })}\n`,
      );
    else
      process.stdout.write(
        `\n${ok ? 'quick start finished: two agents found, trusted, pinged and sent a file to each other' : 'quick start FAILED'}\n`,
      );
    process.exitCode = ok ? 0 : 1;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (json)
      process.stdout.write(`${JSON.stringify({ status: 'error', code: 'quickstart_failed', message })}\n`);
    else process.stderr.write(`quick start failed: ${message}\n`);
    process.exitCode = 1;
  }
}
