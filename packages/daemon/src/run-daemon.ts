import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isPilotError } from '@pilot/wire';
import { type Daemon, startDaemon } from './daemon.js';
import { errorMessage } from './errors.js';
import { writeFileAtomic } from './files.js';
import { type DaemonOptions, parseDaemonArgs } from './options.js';
import { DAEMON_VERSION } from './version.js';

const PROGRAM = 'pilot-daemon';

export const DAEMON_USAGE: string = `Usage: ${PROGRAM} [flags]

  --registry host:port      registry (default 127.0.0.1:9000, or config.json "registry"); a,b,c:
                            instances of one network, the next used when one fails
  --beacon host:port        beacon for endpoint discovery, punching and relay; a,b: the next when one fails
  --reflector host:port     STUN server (or beacon:host:port) to classify the NAT; repeatable
  --listen host:port        UDP address to bind (default 0.0.0.0:0)
  --socket path             IPC socket (default $PILOT_SOCKET, else <home>/pilot.sock)
  --home dir                state directory (default $PILOT_HOME, else ~/.pilot)
  --identity path           identity file (default <home>/identity.json)
  --hostname name           hostname to register
  --public                  let anyone reach this node (default private)
  --encrypt=false           plaintext tunnels (PILT); default encrypted
  --endpoint host:port      fixed public endpoint (skips discovery)
  --owner text              owner to register
  --keepalive 15s           connection keepalive interval
  --idle-timeout 120s       close connections idle this long (0 = never)
  --heartbeat 60s           registry heartbeat interval
  --handshake-poll 5s       how often relayed handshakes are polled
  --metrics host:port       serve Prometheus GET /metrics (":port" is 127.0.0.1; default off)
  --trust-auto-approve      approve every handshake request
  --webhook url             POST events to this URL
  --no-echo --no-dataexchange --no-eventstream --no-stdio   disable built-in services
  --log-level debug|info|warn|error   --log-format text|json   --log-file path
  --config file.json        flags as JSON keys
  --version, --help
`;

/**
 * The daemon program (apps/daemon, `pilotctl _daemon-run`): parses the flags, starts the daemon,
 * writes <home>/pilot.pid, prints one JSON line `{"status":"ready",address,node_id,pid,socket}` on
 * stdout, and on SIGINT/SIGTERM shuts down cleanly and exits 0. Bad flags exit 2, a failed start 1.
 */
export async function runDaemon(args: string[]): Promise<void> {
  // `pilotctl _daemon-run …` may pass its own sub-command along.
  const argv = args[0] === '_daemon-run' ? args.slice(1) : args;
  if (argv.includes('--help') || argv.includes('-h') || argv.includes('-help')) {
    process.stdout.write(DAEMON_USAGE);
    return;
  }
  if (argv.includes('--version') || argv.includes('-version')) {
    process.stdout.write(`${PROGRAM} ${DAEMON_VERSION}\n`);
    return;
  }
  let options: DaemonOptions;
  try {
    options = parseDaemonArgs(argv);
  } catch (error) {
    process.stderr.write(`${PROGRAM}: ${errorMessage(error)}\nRun ${PROGRAM} --help for the flags.\n`);
    process.exit(2);
  }
  let daemon: Daemon;
  try {
    daemon = await startDaemon(options);
  } catch (error) {
    const code = isPilotError(error) ? error.code : 'DAEMON_INTERNAL';
    process.stderr.write(`${PROGRAM}: cannot start: ${errorMessage(error)}\n`);
    process.stdout.write(`${JSON.stringify({ status: 'error', code, message: errorMessage(error) })}\n`);
    process.exit(1);
  }
  const pidFile = join(options.home, 'pilot.pid');
  writeFileAtomic(pidFile, `${process.pid}\n`, 0o600);
  process.stdout.write(
    `${JSON.stringify({
      status: 'ready',
      address: daemon.address,
      node_id: daemon.nodeId,
      pid: process.pid,
      socket: daemon.socket,
      home: daemon.home,
      udp: `${daemon.udpAddress.address}:${daemon.udpAddress.port}`,
    })}\n`,
  );
  await new Promise<void>((resolve) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals): void => {
      signals++;
      if (signals > 1) {
        process.stderr.write(`${PROGRAM}: ${signal} again: exiting at once\n`);
        process.exit(1);
      }
      daemon.close().then(
        () => resolve(),
        (error: unknown) => {
          process.stderr.write(`${PROGRAM}: shutdown failed: ${errorMessage(error)}\n`);
          resolve();
        },
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  try {
    // Only our own pid file: a newer daemon may have replaced it.
    if (readFileSync(pidFile, 'utf8').trim() === String(process.pid)) rmSync(pidFile, { force: true });
  } catch {
    // Already gone.
  }
  process.exit(0);
}
