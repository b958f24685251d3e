import type { ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Driver, type InfoJson } from '@pilot/daemon/driver';
import { isPilotError } from '@pilot/wire';
import type { FlagSpec, FlagType } from '../argv.js';
import { pilotctlBin } from '../bin-path.js';
import type { Command } from '../command.js';
import { DAEMON_ERRORS } from '../command.js';
import { CliError, cliError, hintFor } from '../errors.js';
import { sleep } from '../time.js';

/** The daemon's flags (spec §8, reference §9.1): pilotctl forwards them to the daemon it starts. */
/**
 * V8 flags of the daemon process. A transfer allocates fast (a Buffer per datagram and IPC chunk),
 * and V8 then grows its young generation to its 3 × 16 MiB maximum and keeps it: ~35 MiB of RSS held
 * for as long as the daemon lives. Semi-spaces of 2 MiB keep that at ~6 MiB; a 256 MiB send-file
 * measured the same CPU per MiB (25.9 / 23.5 ms vs 28.9 / 23.7 with the default), daemon RSS peaks
 * 122 / 117 MiB vs 160 / 121 (`@pilot/cli` bench, BENCH_DAEMON_FLAGS).
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2'];

const DAEMON_BOOLEAN_FLAGS = new Set([
  'public',
  'encrypt',
  'no-encrypt',
  'trust-auto-approve',
  'no-echo',
  'no-dataexchange',
  'no-eventstream',
  'no-stdio',
  'no-tasksubmit',
  'registry-tls',
  'forward-secrecy',
]);

const START_FLAGS: Readonly<Record<string, FlagSpec>> = {
  registry: { type: 'string', help: 'registry host:port' },
  beacon: { type: 'string', help: 'beacon host:port' },
  listen: { type: 'string', help: 'UDP host:port to bind', default: '0.0.0.0:0' },
  identity: { type: 'string', help: 'identity file', default: '<home>/identity.json' },
  hostname: { type: 'string', help: 'hostname to claim' },
  public: { type: 'boolean', help: 'make the node public (default private)' },
  foreground: { type: 'boolean', help: 'run the daemon in this process instead of in the background' },
  'start-timeout': { type: 'duration', help: 'how long to wait for the daemon to answer', default: '15s' },
};

function daemonFlagType(name: string): FlagType | undefined {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) return undefined;
  return DAEMON_BOOLEAN_FLAGS.has(name) ? 'boolean' : 'string';
}

/** The daemon's argv: every flag given to `daemon start` but ours, and the socket both agree on. */
function daemonArgv(argv: readonly string[], socket: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] as string;
    const name = token.startsWith('--') ? (token.slice(2).split('=')[0] ?? '') : '';
    const ours = name === 'foreground' || name === 'start-timeout' || name === 'json' || name === 'socket';
    const type = name === '' ? undefined : (START_FLAGS[name]?.type ?? daemonFlagType(name));
    const takesNext =
      !token.includes('=') &&
      (type === 'boolean' ? /^(true|false)$/i.test(argv[i + 1] ?? '') : type !== undefined);
    if (!ours) {
      out.push(token);
      if (takesNext && argv[i + 1] !== undefined) out.push(argv[i + 1] as string);
    }
    if (takesNext) i++;
  }
  out.push('--socket', socket);
  return out;
}

/** The last lines of the daemon's log, for an error that says why it did not start. */
function logTail(path: string, lines = 15): string {
  try {
    const text = readFileSync(path, 'utf8').trimEnd();
    return text.split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Info from the daemon at `socket`, or undefined when nobody answers there. */
async function probe(socket: string, timeoutMs = 2000): Promise<InfoJson | undefined> {
  let driver: Driver | undefined;
  try {
    driver = await Driver.connect(socket);
    return await driver.info({ timeoutMs });
  } catch (error) {
    if (isPilotError(error, 'DRIVER_NOT_RUNNING') || isPilotError(error, 'DRIVER_DISCONNECTED'))
      return undefined;
    if (isPilotError(error, 'DRIVER_TIMEOUT')) return undefined;
    throw error;
  } finally {
    await driver?.close();
  }
}

function startedData(
  info: InfoJson,
  pid: number | undefined,
  socket: string,
  home: string,
  log: string,
): Record<string, unknown> {
  return {
    address: info.address,
    node_id: info.node_id,
    pid,
    hostname: info.hostname ?? '',
    socket,
    home: info.home ?? home,
    log,
  };
}

const start: Command = {
  name: 'daemon start',
  summary:
    "start the daemon in the background (it returns once the node is registered); takes the daemon's flags",
  flags: START_FLAGS,
  passthrough: daemonFlagType,
  fields: ['address', 'node_id', 'pid', 'hostname', 'socket', 'home', 'log'],
  errors: ['already_exists', 'timeout', 'io_error', 'invalid_argument', 'internal'],
  async run(context, args) {
    const socket = context.socketPath;
    const running = await probe(socket);
    if (running !== undefined) {
      throw cliError(
        'already_exists',
        `a daemon already runs at ${socket} (node ${running.address}, pid ${running.pid ?? '?'})`,
        'stop it with "pilotctl daemon stop", or start another with its own --socket and PILOT_HOME',
      );
    }
    const argv = daemonArgv(context.argv, socket);
    if (args.bool('foreground')) {
      const daemon = (await import('@pilot/daemon')) as unknown as {
        runDaemon?: (argv: string[]) => Promise<void>;
      };
      if (typeof daemon.runDaemon !== 'function')
        throw cliError('internal', 'this build has no daemon (@pilot/daemon lacks runDaemon)');
      await daemon.runDaemon(argv);
      return { data: { socket, foreground: true }, human: '' };
    }
    mkdirSync(context.home, { recursive: true, mode: 0o700 });
    // The daemon outlives us: it must not think it has a parent's IPC channel.
    const { NODE_CHANNEL_FD: _fd, NODE_CHANNEL_SERIALIZATION_MODE: _mode, ...env } = context.io.env;
    const log = join(context.home, 'pilot.log');
    // node:child_process (and the dgram it loads) only for the command that spawns: the cold start of
    // every other command is part of pilotctl's interface (bench/cold-start.mjs).
    const { spawn } = await import('node:child_process');
    const logFd = openSync(log, 'a', 0o600);
    let child: ChildProcess;
    try {
      const bin = pilotctlBin();
      child = spawn(process.execPath, [...DAEMON_NODE_FLAGS, bin, '_daemon-run', ...argv], {
        detached: true,
        stdio: ['ignore', logFd, logFd],
        env: { ...env, PILOT_HOME: context.home, PILOT_SOCKET: socket },
      });
    } finally {
      closeSync(logFd);
    }
    let exited: string | undefined;
    child.once('exit', (code, signal) => {
      exited = signal === null ? `exit code ${code}` : `signal ${signal}`;
    });
    child.once('error', (error) => {
      exited = error.message;
    });
    const deadline = Date.now() + args.duration('start-timeout', 15_000);
    try {
      while (Date.now() < deadline && exited === undefined) {
        const info = await probe(socket);
        if (info !== undefined && typeof info.node_id === 'number' && info.node_id > 0) {
          return {
            data: startedData(info, info.pid ?? child.pid, socket, context.home, log),
            human: `daemon running (pid ${info.pid ?? child.pid})\n  address  ${info.address}\n  node id  ${info.node_id}${info.hostname ? `\n  hostname ${info.hostname}` : ''}\n  socket   ${socket}\n  log      ${log}`,
          };
        }
        await sleep(150);
      }
      const tail = logTail(log);
      if (exited !== undefined) {
        throw cliError(
          'internal',
          `the daemon stopped during start (${exited})${tail === '' ? '' : `; the end of ${log}:\n${tail}`}`,
          'fix what the log says (often --registry, or a socket already in use), then start again',
        );
      }
      child.kill('SIGTERM');
      throw cliError(
        'timeout',
        `the daemon did not answer at ${socket} within the start timeout${tail === '' ? '' : `; the end of ${log}:\n${tail}`}`,
        'check that the registry (--registry) is reachable, or give it longer with --start-timeout 30s',
      );
    } finally {
      child.removeAllListeners('exit');
      child.removeAllListeners('error');
      child.unref();
    }
  },
};

const run: Command = {
  name: '_daemon-run',
  summary: 'run the daemon in this process (what "daemon start" launches)',
  hidden: true,
  passthrough: daemonFlagType,
  fields: [],
  errors: ['invalid_argument', 'internal'],
  async run(context) {
    const daemon = (await import('@pilot/daemon')) as unknown as {
      runDaemon?: (argv: string[]) => Promise<void>;
    };
    if (typeof daemon.runDaemon !== 'function')
      throw cliError('internal', 'this build has no daemon (@pilot/daemon lacks runDaemon)');
    await daemon.runDaemon(context.argv.filter((token) => token !== '--json'));
    return { data: {}, human: '' };
  },
};

function readPidFile(home: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(home, 'pilot.pid'), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

const stop: Command = {
  name: 'daemon stop',
  summary: 'stop the daemon (SIGTERM) and wait until its socket is gone',
  flags: { timeout: { type: 'duration', help: 'how long to wait', default: '15s' } },
  fields: ['pid', 'address', 'node_id', 'stopped'],
  errors: ['not_running', 'timeout', 'internal'],
  async run(context, args) {
    const info = await context.info();
    await context.close();
    const pid =
      typeof info.pid === 'number'
        ? info.pid
        : readPidFile(typeof info.home === 'string' ? info.home : context.home);
    if (pid === undefined)
      throw cliError('internal', 'the daemon did not tell its pid, and there is no pilot.pid');
    try {
      process.kill(pid, 'SIGTERM');
    } catch (error) {
      throw cliError('internal', `cannot signal pid ${pid}: ${(error as Error).message}`);
    }
    const deadline = Date.now() + args.duration('timeout', 15_000);
    while (Date.now() < deadline) {
      if ((await probe(context.socketPath, 1000)) === undefined) {
        return {
          data: { pid, address: info.address, node_id: info.node_id, stopped: true },
          human: `daemon stopped (pid ${pid})`,
        };
      }
      await sleep(150);
    }
    throw cliError(
      'timeout',
      `the daemon (pid ${pid}) still answers after SIGTERM`,
      `wait, or end it with "kill -9 ${pid}"`,
    );
  },
};

const status: Command = {
  name: 'daemon status',
  summary: 'tell whether a daemon answers at the socket; --check: only the exit status (0 running, 1 not)',
  flags: { check: { type: 'boolean', help: 'print nothing; exit 0 when running, 1 when not' } },
  fields: [
    'running',
    'address',
    'node_id',
    'pid',
    'hostname',
    'uptime_secs',
    'peers',
    'connections',
    'socket',
  ],
  errors: ['not_running'],
  async run(context, args) {
    const info = await probe(context.socketPath);
    if (info === undefined) {
      if (args.bool('check')) {
        throw new CliError('not_running', `no daemon answers at ${context.socketPath}`, {
          hint: hintFor('not_running') ?? '',
          quiet: true,
        });
      }
      return {
        data: { running: false, socket: context.socketPath },
        human: `not running (no daemon answers at ${context.socketPath})`,
      };
    }
    const data = {
      running: true,
      address: info.address,
      node_id: info.node_id,
      pid: info.pid,
      hostname: info.hostname ?? '',
      uptime_secs: info.uptime_secs,
      peers: info.peers,
      connections: info.connections,
      socket: context.socketPath,
    };
    if (args.bool('check') && !context.out.json) return { data, human: '' };
    return {
      data,
      human: `running: ${info.address} (node ${info.node_id}, pid ${info.pid ?? '?'}, up ${info.uptime_secs ?? '?'} s)`,
    };
  },
};

export const daemonCommands: readonly Command[] = [start, stop, status, run];
export { DAEMON_ERRORS };
