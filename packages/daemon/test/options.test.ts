import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { safeFileName } from '../src/files.js';
import { parseDaemonArgs, parseDuration, topicMatches } from '../src/index.js';
import { parseReflector } from '../src/options.js';
import { checkWebhookUrl } from '../src/webhook.js';
import { tempDir } from './helpers.js';

const dir = tempDir('pilot-daemon-opts-');
afterAll(() => dir.cleanup());
const env = { PILOT_HOME: join(dir.path, 'home') };

describe('parseDaemonArgs', () => {
  it('reads the reference flags, single or double dash, with = or a separate value', () => {
    const options = parseDaemonArgs(
      [
        '--registry',
        '10.0.0.1:9000',
        '-beacon=10.0.0.1:9001',
        '--listen',
        ':4000',
        '--socket',
        '/tmp/x.sock',
        '--hostname',
        'agent',
        '--public',
        '--encrypt=false',
        '--keepalive',
        '15s',
        '--idle-timeout',
        '2m',
        '--trust-auto-approve',
        '--no-echo',
        '--log-level',
        'debug',
        '--log-format',
        'json',
        '--max-conns-per-port',
        '10',
        '--email',
        'ignored@example.com',
      ],
      env,
    );
    expect(options).toMatchObject({
      home: env.PILOT_HOME,
      registry: '10.0.0.1:9000',
      beacon: '10.0.0.1:9001',
      listen: ':4000',
      socket: '/tmp/x.sock',
      hostname: 'agent',
      public: true,
      encrypt: false,
      keepalive: 15_000,
      idleTimeout: 120_000,
      trustAutoApprove: true,
      noEcho: true,
      logLevel: 'debug',
      logFormat: 'json',
      maxConnsPerPort: 10,
    });
  });

  it('takes defaults from PILOT_SOCKET, <home>/config.json and --config, flags winning', () => {
    const home = join(dir.path, 'h2');
    mkdirSync(home, { recursive: true });
    writeFileSync(
      join(home, 'config.json'),
      JSON.stringify({ registry: '1.1.1.1:9000', hostname: 'fromconfig' }),
    );
    const config = join(dir.path, 'daemon.json');
    writeFileSync(config, JSON.stringify({ 'idle-timeout': '30s', log_level: 'warn', hostname: 'fromfile' }));
    const options = parseDaemonArgs(['--config', config, '--hostname', 'fromflag'], {
      PILOT_HOME: home,
      PILOT_SOCKET: '/tmp/env.sock',
    });
    expect(options).toMatchObject({
      registry: '1.1.1.1:9000',
      socket: '/tmp/env.sock',
      hostname: 'fromflag',
      idleTimeout: 30_000,
      logLevel: 'warn',
    });
    expect(parseDaemonArgs(['--log-file='], { PILOT_HOME: home }).logFile).toBe(join(home, 'pilot.log'));
    const plain = parseDaemonArgs([], { PILOT_HOME: join(dir.path, 'empty') });
    // The socket lives in PILOT_HOME (0700), not in /tmp where another user could take the name first.
    expect(plain).toMatchObject({
      registry: '127.0.0.1:9000',
      socket: join(dir.path, 'empty', 'pilot.sock'),
    });
  });

  it('refuses unknown flags, missing values and bad values with DAEMON_BAD_OPTION', () => {
    for (const argv of [
      ['--bogus'],
      ['--registry'],
      ['--keepalive', 'soon'],
      ['--public=maybe'],
      ['--log-level', 'loud'],
      ['stray'],
      ['--max-conns-total', '-1'],
    ]) {
      expect(() => parseDaemonArgs(argv, env), argv.join(' ')).toThrow(
        expect.objectContaining({ code: 'DAEMON_BAD_OPTION' }),
      );
    }
  });

  it('collects repeated --reflector flags (none by default) and checks each', () => {
    expect(parseDaemonArgs([], env).reflectors).toBeUndefined();
    const options = parseDaemonArgs(
      ['--beacon', '10.0.0.1:9001', '--reflector', '10.0.0.1:3478', '--reflector=beacon:10.0.0.2:9002'],
      env,
    );
    expect(options.beacon).toBe('10.0.0.1:9001');
    expect(options.reflectors).toEqual(['10.0.0.1:3478', 'beacon:10.0.0.2:9002']);
    const config = join(dir.path, 'reflectors.json');
    writeFileSync(config, JSON.stringify({ reflector: ['stun:1.2.3.4:3478', '5.6.7.8:3478'] }));
    expect(parseDaemonArgs(['--config', config], env).reflectors).toEqual([
      'stun:1.2.3.4:3478',
      '5.6.7.8:3478',
    ]);
    expect(parseDaemonArgs(['--config', config, '--reflector', '9.9.9.9:1'], env).reflectors).toEqual([
      '9.9.9.9:1',
    ]);
    expect(parseReflector('10.0.0.1:3478')).toEqual({ protocol: 'stun', host: '10.0.0.1', port: 3478 });
    expect(parseReflector('beacon:10.0.0.2:9002')).toEqual({
      protocol: 'beacon',
      host: '10.0.0.2',
      port: 9002,
    });
    expect(parseReflector('STUN:[::1]:3478')).toEqual({ protocol: 'stun', host: '::1', port: 3478 });
    expect(parseReflector('stun:3478')).toEqual({ protocol: 'stun', host: 'stun', port: 3478 });
    for (const argv of [['--reflector'], ['--reflector', 'nohost'], ['--reflector=stun:1.2.3.4:0']]) {
      expect(() => parseDaemonArgs(argv, env), argv.join(' ')).toThrow(
        expect.objectContaining({ code: 'DAEMON_BAD_OPTION' }),
      );
    }
  });

  it('parses durations', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('5s')).toBe(5000);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('7')).toBe(7000);
    expect(() => parseDuration('')).toThrow();
    expect(() => parseDuration('5 parsecs')).toThrow();
  });
});

describe('helpers', () => {
  it('makes received file names safe', () => {
    expect(safeFileName('report.pdf')).toBe('report.pdf');
    expect(safeFileName('../../etc/passwd')).toBe('passwd');
    expect(safeFileName('..')).toBe('file');
    expect(safeFileName('.hidden')).toBe('hidden');
    expect(safeFileName('a\u0000b\u001fc')).toBe('abc');
    expect(safeFileName('')).toBe('file');
    expect(safeFileName(`${'x'.repeat(300)}.txt`)).toMatch(/^x+\.txt$/);
    expect(safeFileName(`${'x'.repeat(300)}.txt`).length).toBeLessThanOrEqual(120);
  });

  it('matches topics: exact, * and a namespace', () => {
    expect(topicMatches('*', 'anything')).toBe(true);
    expect(topicMatches('news', 'news')).toBe(true);
    expect(topicMatches('news', 'newsy')).toBe(false);
    expect(topicMatches('weather.*', 'weather.metar')).toBe(true);
    expect(topicMatches('weather.*', 'weather')).toBe(false);
    expect(topicMatches('weather.*', 'weatherx.metar')).toBe(false);
  });

  it('refuses webhook URLs that point at link-local or metadata services', () => {
    expect(checkWebhookUrl('https://hooks.example.com/pilot').hostname).toBe('hooks.example.com');
    expect(checkWebhookUrl('http://127.0.0.1:8080/x').port).toBe('8080');
    for (const url of [
      'http://169.254.169.254/latest/meta-data',
      'http://metadata.google.internal/computeMetadata',
      'http://[fe80::1]/x',
      'http://[fd00:ec2::254]/',
      'ftp://example.com/',
      'not a url',
    ]) {
      expect(() => checkWebhookUrl(url), url).toThrow(
        expect.objectContaining({ code: 'DAEMON_INVALID_ARGUMENT' }),
      );
    }
  });
});

describe('budget flags', () => {
  it('reads --budget-<name> into budgets, refuses nonsense and unknown budgets', () => {
    const options = parseDaemonArgs(
      [
        '--home',
        '/tmp/pilot-budget-flags',
        '--budget-handshake-streams-per-peer',
        '2',
        '--budget-handshake-window-segments=8',
      ],
      {},
    );
    expect(options.budgets).toEqual({ 'handshake-streams-per-peer': 2, 'handshake-window-segments': 8 });
    expect(() => parseDaemonArgs(['--budget-handshake-max-streams', '-3'], {})).toThrow(
      /positive whole number/,
    );
    expect(() => parseDaemonArgs(['--budget-no-such-thing', '3'], {})).toThrow(/unknown flag/);
  });

  it('--transport, --wss and --proxy (HTTPS_PROXY), checked at start', () => {
    const options = parseDaemonArgs(['--transport', 'tcp', '--wss', '198.18.0.1:443'], {
      ...env,
      HTTPS_PROXY: 'http://agent:s3cret@10.1.0.1:8888',
    });
    expect(options).toMatchObject({
      transport: 'tcp',
      wss: '198.18.0.1:443',
      proxy: 'http://agent:s3cret@10.1.0.1:8888',
    });
    // The flag wins over the environment.
    expect(parseDaemonArgs(['--proxy', 'http://p:3128'], { ...env, HTTPS_PROXY: 'http://q:1' }).proxy).toBe(
      'http://p:3128',
    );
    expect(parseDaemonArgs([], { ...env, PILOT_TRANSPORT: 'udp', PILOT_WSS: 'h:443' })).toMatchObject({
      transport: 'udp',
      wss: 'h:443',
    });
    expect(() => parseDaemonArgs(['--transport', 'quic'], env)).toThrow(/auto, udp or tcp/);
    expect(() => parseDaemonArgs(['--transport', 'tcp'], env)).toThrow(/needs --wss/);
    expect(() => parseDaemonArgs(['--wss', 'nohost'], env)).toThrow(/host:port/);
    expect(() => parseDaemonArgs(['--proxy', 'socks5://h:1'], env)).toThrow(/--proxy/);
  });
});
