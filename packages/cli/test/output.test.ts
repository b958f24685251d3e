import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toToolFailure } from '@pilot/mcp/tools';
import { PilotError } from '@pilot/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_ERROR_CODES, COMMANDS, toCliError } from '../src/index.js';
import { runInProcess } from './run-cli.js';

// The worker's stderr pipe is opened lazily, the first time anything writes to it: open it before the
// leak check's baseline so that it is not counted as a handle of ours.
void process.stderr;

let home = '';
let env: NodeJS.ProcessEnv = {};

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'pilotctl-unit-'));
  env = { PILOT_HOME: home, PILOT_SOCKET: join(home, 'nobody.sock') };
});

afterAll(() => {
  rmSync(home, { recursive: true, force: true });
});

describe('errors', () => {
  it('maps daemon, driver, directory and system errors to pilotctl codes with hints', () => {
    const cases: Array<[unknown, string]> = [
      [new PilotError('DRIVER_NOT_RUNNING', 'x'), 'not_running'],
      [new PilotError('DAEMON_NOT_TRUSTED', 'x'), 'not_trusted'],
      [new PilotError('DAEMON_NOT_FOUND', 'x'), 'not_found'],
      [new PilotError('DAEMON_CONNECTION_FAILED', 'x'), 'connection_failed'],
      [new PilotError('DAEMON_TIMEOUT', 'x'), 'timeout'],
      [new PilotError('DAEMON_ALREADY_EXISTS', 'x'), 'already_exists'],
      [new PilotError('DAEMON_UNAVAILABLE', 'x'), 'unavailable'],
      [new PilotError('DAEMON_INVALID_ARGUMENT', 'x'), 'invalid_argument'],
      // The reference daemon sends every error as code 1: its text decides.
      [new PilotError('DAEMON_INTERNAL', 'dial failed: peer not trusted'), 'not_trusted'],
      [new PilotError('DAEMON_INTERNAL', 'boom'), 'internal'],
      [new PilotError('WIRE_BAD_ADDRESS', 'x'), 'invalid_argument'],
      [new PilotError('DIR_NOT_FOUND', 'x'), 'not_found'],
      // The registry refused our signature: as our daemon passes it on (IPC code 1, the code named
      // at the end of the text), and from the registry directly. Was `internal` (a bug) before.
      [new PilotError('DAEMON_INTERNAL', 'signature does not verify [DIR_BAD_SIGNATURE]'), 'auth_required'],
      [new PilotError('DIR_BAD_SIGNATURE', 'x'), 'auth_required'],
      [new PilotError('DAEMON_INTERNAL', 'timestamp out of window [DIR_STALE_SIGNATURE]'), 'auth_required'],
      [new PilotError('DAEMON_INTERNAL', 'nonce seen [DIR_REPLAYED]'), 'auth_required'],
      [new PilotError('DAEMON_INTERNAL', 'x [DIR_SIGNATURE_REQUIRED]'), 'auth_required'],
      [new PilotError('DAEMON_INTERNAL', 'x [DIR_FRESHNESS_REQUIRED]'), 'auth_required'],
      [new PilotError('DAEMON_INTERNAL', 'wrong token [DIR_BAD_TOKEN]'), 'auth_required'],
      [new PilotError('DIR_FORBIDDEN', 'x'), 'not_trusted'],
      [new PilotError('DAEMON_INTERNAL', 'lookups over budget [DAEMON_BUDGET_SPENT]'), 'unavailable'],
      [new PilotError('DAEMON_INTERNAL', 'shutting down [DAEMON_CLOSED]'), 'not_running'],
      [new PilotError('DAEMON_INTERNAL', 'x [DIR_RATE_LIMITED]'), 'unavailable'],
      [new PilotError('DAEMON_INTERNAL', 'x [DIR_STORE_FAILED]'), 'unavailable'],
      [new PilotError('DAEMON_INTERNAL', 'x [DAEMON_INTERNAL]'), 'internal'],
      [Object.assign(new Error('no file'), { code: 'ENOENT' }), 'not_found'],
      [Object.assign(new Error('denied'), { code: 'EACCES' }), 'io_error'],
      [new Error('?'), 'internal'],
    ];
    for (const [error, code] of cases) {
      const failure = toCliError(error);
      expect(failure.cliCode).toBe(code);
      expect(Object.keys(CLI_ERROR_CODES)).toContain(failure.cliCode);
      // The MCP tools report a daemon's, driver's or registry's error by the same table (the driver's errorKind).
      if (error instanceof PilotError) expect(toToolFailure(error).code).toBe(code);
    }
    expect(toCliError(new PilotError('DRIVER_NOT_RUNNING', 'x')).hint).toMatch(/daemon start/);
    // A reference registry's bare "request failed", as the daemon passes it on: not called a bug.
    const remote = toCliError(new PilotError('DAEMON_INTERNAL', 'request failed [DIR_REMOTE]'));
    expect(remote.hint).toMatch(/another implementation/);
    expect(remote.hint).not.toMatch(/bug/);
  });
});

describe('pilotctl envelope and usage', () => {
  it('--json anywhere gives the error envelope on stderr with exit 1 (daemon not running)', async () => {
    const run = await runInProcess(['info', '--json'], env);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.error).toMatchObject({ status: 'error', code: 'not_running' });
    expect(run.error?.message).toContain('nobody.sock');
    expect(run.error?.hint).toMatch(/daemon start/);
    const first = await runInProcess(['--json', 'info'], env);
    expect(first.error?.code).toBe('not_running');
  });

  it('every command that needs the daemon says not_running (exit 1) when none answers', async () => {
    const samples: Record<string, string[]> = {
      'daemon stop': [],
      info: [],
      health: [],
      'set-hostname': ['alpha'],
      'clear-hostname': [],
      find: ['alpha'],
      'set-public': [],
      'set-private': [],
      'set-tags': ['a'],
      'clear-tags': [],
      'set-webhook': ['http://example.com/hook'],
      'clear-webhook': [],
      peers: [],
      connections: [],
      disconnect: ['1'],
      deregister: [],
      handshake: ['2', 'why'],
      pending: [],
      approve: ['2'],
      reject: ['2', 'no'],
      trust: [],
      untrust: ['2'],
      connect: ['2', '7', '--message', 'x'],
      send: ['2', '7', '--data', 'x'],
      recv: ['5000'],
      listen: ['6000', '--count', '1'],
      'send-datagram': ['2', '6000', '--data', 'x'],
      broadcast: ['5', 'hello'],
      'send-message': ['2', '--data', 'x'],
      'send-file': ['2', fileURLToPath(import.meta.url)],
      subscribe: ['2', 'news'],
      publish: ['2', 'news', '--data', 'x'],
      ping: ['2'],
      traceroute: ['2'],
      bench: ['2'],
      'mcp serve': ['--', 'true'],
      'mcp connect': ['2'],
    };
    for (const [name, args] of Object.entries(samples)) {
      const run = await runInProcess(['--json', ...name.split(' '), ...args], env);
      expect(run.status, name).toBe(1);
      expect(run.error?.code, `${name}: ${run.stderr}`).toBe('not_running');
    }
  });

  it('prints errors for people without --json', async () => {
    const run = await runInProcess(['info'], env);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^error: .*\[not_running\]\nhint: /);
  });

  it('usage errors exit 2 with invalid_argument', async () => {
    for (const argv of [
      ['frob'],
      ['ping'],
      ['ping', 'a', 'b'],
      ['info', '--bogus'],
      ['daemon', 'frob'],
      ['send', 'x', '99999', '--data', 'a'],
    ]) {
      const run = await runInProcess([...argv, '--json'], env);
      expect(run.status, argv.join(' ')).toBe(2);
      expect(run.error?.code).toBe('invalid_argument');
    }
  });

  it('--socket picks the daemon and is named in the error', async () => {
    const run = await runInProcess(['info', '--socket', join(home, 'other.sock'), '--json'], env);
    expect(run.error?.message).toContain('other.sock');
  });

  it('daemon status reports not running; --check says it only through the exit status', async () => {
    const status = await runInProcess(['daemon', 'status', '--json'], env);
    expect(status.status).toBe(0);
    expect(status.json?.data).toMatchObject({ running: false });
    const check = await runInProcess(['daemon', 'status', '--check'], env);
    expect(check.status).toBe(1);
    expect(check.stdout + check.stderr).toBe('');
  });

  it('help, version and context', async () => {
    const help = await runInProcess(['help'], env);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('send-file');
    const commandHelp = await runInProcess(['ping', '--help'], env);
    expect(commandHelp.stdout).toContain('usage: pilotctl ping <target>');
    const version = await runInProcess(['version', '--json'], env);
    expect(version.json?.data.version).toMatch(/^\d+\.\d+\.\d+/);
    const context = await runInProcess(['context', '--json'], env);
    const data = context.json?.data as {
      commands: Array<{ name: string; returns: string[]; errors: string[] }>;
      error_codes: Record<string, string>;
    };
    const names = data.commands.map((command) => command.name);
    for (const name of [
      'init',
      'config',
      'daemon start',
      'daemon stop',
      'daemon status',
      'info',
      'find',
      'ping',
      'send-file',
      'bench',
      'context',
      'mcp serve',
      'mcp connect',
    ]) {
      expect(names).toContain(name);
    }
    expect(names).not.toContain('_daemon-run');
    expect(data.commands.find((c) => c.name === 'daemon start')?.returns).toEqual(
      expect.arrayContaining(['address', 'node_id', 'pid']),
    );
    expect(data.commands.find((c) => c.name === 'ping')?.returns).toEqual(
      expect.arrayContaining(['replies', 'avg_ms', 'path']),
    );
    expect(data.commands.find((c) => c.name === 'send-file')?.returns).toEqual(
      expect.arrayContaining(['bytes', 'sha256']),
    );
    expect(data.commands.find((c) => c.name === 'bench')?.returns).toEqual(
      expect.arrayContaining(['bytes', 'seconds', 'mb_per_s']),
    );
    expect(Object.keys(data.error_codes)).toEqual(
      expect.arrayContaining(['not_running', 'not_found', 'not_trusted', 'timeout']),
    );
    expect(data.commands.length).toBe(COMMANDS.filter((c) => c.hidden !== true).length);
  });

  it('init and config write and read <PILOT_HOME>/config.json', async () => {
    const missing = await runInProcess(['init', '--json'], env);
    expect(missing.status).toBe(2);
    const init = await runInProcess(
      ['init', '--registry', '127.0.0.1:9000', '--beacon', '127.0.0.1:9001', '--hostname', 'alpha', '--json'],
      env,
    );
    expect(init.json?.data.config).toEqual({
      registry: '127.0.0.1:9000',
      beacon: '127.0.0.1:9001',
      hostname: 'alpha',
    });
    const set = await runInProcess(['config', '--set', 'hostname=', '--set', 'public=true', '--json'], env);
    expect(set.json?.data.config).toEqual({
      registry: '127.0.0.1:9000',
      beacon: '127.0.0.1:9001',
      public: true,
    });
    expect(JSON.parse(readFileSync(join(home, 'config.json'), 'utf8'))).toEqual(set.json?.data.config);
    const show = await runInProcess(['config', '--json'], env);
    expect(show.json?.data.path).toBe(join(home, 'config.json'));
    const bad = await runInProcess(['config', '--set', 'novalue', '--json'], env);
    expect(bad.status).toBe(2);
  });

  it('lookup without any registry address says what to do', async () => {
    const run = await runInProcess(['lookup', '5', '--json'], { ...env, PILOT_HOME: join(home, 'empty') });
    expect(run.status).toBe(1);
    expect(run.error?.code).toBe('invalid_argument');
    expect(run.error?.hint).toMatch(/--registry/);
  });

  it('inbox and received list an empty mailbox without a daemon', async () => {
    const inbox = await runInProcess(['inbox', '--json'], env);
    expect(inbox.json?.data).toMatchObject({ messages: [], count: 0 });
    const received = await runInProcess(['received', '--json'], env);
    expect(received.json?.data).toMatchObject({ files: [], count: 0 });
  });
});
