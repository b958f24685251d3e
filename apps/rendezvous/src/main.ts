#!/usr/bin/env node
import { isPilotError } from '@pilot/wire';
import { loadBeacon } from './beacon.js';
import { isUsageError, parseCommandLine, USAGE } from './config.js';
import { createLogger } from './logger.js';
import { startRendezvous } from './rendezvous.js';
import { describeStore } from './store.js';

const PROGRAM = 'pilot-rendezvous';

function fail(message: string, status: number, hint = ''): never {
  process.stderr.write(`${PROGRAM}: ${message}\n${hint}`);
  process.exit(status);
}

let command: ReturnType<typeof parseCommandLine>;
try {
  command = parseCommandLine(process.argv.slice(2));
} catch (error) {
  if (isUsageError(error) && isPilotError(error))
    fail(`${error.message} [${error.code}]`, 2, `Run ${PROGRAM} --help for the flags.\n`);
  throw error;
}
if (command.kind === 'help') {
  process.stdout.write(USAGE);
  process.exit(0);
}

const config = command.config;
const logger = createLogger(config.logLevel, config.logFormat);
const beacon = loadBeacon();

let rendezvous: Awaited<ReturnType<typeof startRendezvous>>;
try {
  rendezvous = await startRendezvous(config, logger, beacon);
} catch (error) {
  fail(isPilotError(error) ? `${error.message} [${error.code}]` : String(error), 1);
}

const { host, port } = rendezvous.registry;
const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
process.stdout.write(
  logger.line(`${PROGRAM}: registry listening on ${where}`, {
    registry: where,
    tls: config.tls !== undefined,
    fingerprint: rendezvous.tlsFingerprint,
    beacon: rendezvous.beacon?.address,
    stun: rendezvous.stun?.address,
    wss: rendezvous.wss?.address,
    http: rendezvous.http?.address,
    store: describeStore(config.store),
  }),
);

let signals = 0;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    signals += 1;
    // A second signal while draining: the operator wants out now.
    if (signals > 1) fail(`${signal} again: exiting without finishing`, 1);
    logger.log('info', 'shutting down', { signal });
    rendezvous.close().then(
      () => {
        logger.log('info', 'stopped');
        process.exit(0);
      },
      (error: unknown) => fail(`shutdown failed: ${String(error)}`, 1),
    );
  });
}
