import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPilotError } from '@pilot/wire';
import { afterAll, describe, expect, it } from 'vitest';
import { BUDGET_NAMES, defaultBudgets, RENDEZVOUS_BUDGETS } from '../src/budgets.js';
import { parseCommandLine, parseListenAddress, type RendezvousConfig, USAGE } from '../src/config.js';
import { RendezvousErrorCode } from '../src/errors.js';
import { createLogger } from '../src/logger.js';

const dir = mkdtempSync(join(tmpdir(), 'rdv-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(argv: string[]): RendezvousConfig {
  const parsed = parseCommandLine(argv);
  if (parsed.kind !== 'run') throw new Error('expected a run command');
  return parsed.config;
}

function codeOf(argv: string[]): string | undefined {
  try {
    parseCommandLine(argv);
  } catch (error) {
    if (isPilotError(error)) return error.code;
    throw error;
  }
  return undefined;
}

describe('command line', () => {
  it('has the reference defaults', () => {
    expect(run([])).toEqual({
      registryAddr: { host: '0.0.0.0', port: 9000 },
      beaconAddr: { host: '0.0.0.0', port: 9001 },
      beaconAddrGiven: false,
      stunAddr: { host: '0.0.0.0', port: 9002 },
      stunAddrDefault: true,
      wssAddr: { host: '0.0.0.0', port: 9443 },
      wssAddrDefault: true,
      beaconPeers: [],
      beaconSyncMs: 10_000,
      beaconAmplification: 'compatible',
      http: undefined,
      store: join(homedir(), '.pilot', 'registry.db'),
      tls: {
        source: 'store',
        certFile: join(homedir(), '.pilot', 'registry-tls.crt'),
        keyFile: join(homedir(), '.pilot', 'registry-tls.key'),
      },
      requireTls: false,
      adminToken: undefined,
      logLevel: 'info',
      logFormat: 'text',
      budgets: defaultBudgets(),
    });
  });

  it('reads every budget from its --budget-<name> flag, and refuses nonsense', () => {
    const config = run(['--budget-beacon-punch-target-rate', '5', '--budget-registry-frame-timeout-ms=2500']);
    expect(config.budgets['beacon-punch-target-rate']).toBe(5);
    expect(config.budgets['registry-frame-timeout-ms']).toBe(2500);
    expect(config.budgets['registry-max-connections']).toBe(
      RENDEZVOUS_BUDGETS['registry-max-connections'].default,
    );
    expect(() => run(['--budget-beacon-source-rate', '-1'])).toThrow(/positive number/);
    expect(() => run(['--budget-beacon-source-rate', 'lots'])).toThrow(/positive number/);
    for (const name of BUDGET_NAMES) expect(USAGE).toContain(`--budget-${name}`);
  });

  it('reads --name value, --name=value and the reference -name form', () => {
    const config = run([
      '--registry-addr',
      '127.0.0.1:7000',
      '--store=/tmp/x.db',
      '-log-format',
      'json',
      '--log-level=debug',
      '--admin-token',
      'secret-token',
    ]);
    expect(config).toMatchObject({
      registryAddr: { host: '127.0.0.1', port: 7000 },
      store: '/tmp/x.db',
      logFormat: 'json',
      logLevel: 'debug',
      adminToken: 'secret-token',
    });
    expect(parseCommandLine(['--help'])).toEqual({ kind: 'help' });
  });

  it('reads the beacon and health flags', () => {
    expect(
      run(['--beacon-addr', '127.0.0.1:9101', '--beacon-amplification=strict', '--http', ':8080']),
    ).toMatchObject({
      beaconAddr: { host: '127.0.0.1', port: 9101 },
      beaconAddrGiven: true,
      beaconAmplification: 'strict',
      http: { host: '0.0.0.0', port: 8080 },
    });
    expect(run(['--stun-addr', '127.0.0.1:9102']).stunAddr).toEqual({ host: '127.0.0.1', port: 9102 });
    expect(run(['--stun-addr=:3478']).stunAddr).toEqual({ host: '0.0.0.0', port: 3478 });
  });

  it('keeps --store :memory: as the in-memory database rather than a file of that name', () => {
    expect(run(['--store', ':memory:']).store).toBe(':memory:');
    expect(run(['--store', 'x.db']).store).toBe(join(process.cwd(), 'x.db'));
  });

  it('parses listen addresses', () => {
    expect(parseListenAddress(':9000', 'x')).toEqual({ host: '0.0.0.0', port: 9000 });
    expect(parseListenAddress('[::1]:0', 'x')).toEqual({ host: '::1', port: 0 });
    for (const bad of ['9000', 'host:', 'a:70000', 'a:b:1', '']) {
      expect(() => parseListenAddress(bad, 'x')).toThrow(/host:port/);
    }
  });

  it('refuses bad flags with RDV_BAD_FLAG', () => {
    expect(codeOf(['--nope'])).toBe(RendezvousErrorCode.BAD_FLAG);
    expect(codeOf(['stray'])).toBe(RendezvousErrorCode.BAD_FLAG);
    expect(codeOf(['--store'])).toBe(RendezvousErrorCode.BAD_FLAG);
    expect(codeOf(['--store', '--tls'])).toBe(RendezvousErrorCode.BAD_FLAG);
    expect(codeOf(['--log-level', 'loud'])).toBe(RendezvousErrorCode.BAD_FLAG);
    expect(codeOf(['--log-format', 'xml'])).toBe(RendezvousErrorCode.BAD_FLAG);
    expect(codeOf(['--beacon-amplification', 'loose'])).toBe(RendezvousErrorCode.BAD_FLAG);
    expect(codeOf(['--http', '8080'])).toBe(RendezvousErrorCode.BAD_FLAG);
    expect(codeOf(['--stun-addr', '3478'])).toBe(RendezvousErrorCode.BAD_FLAG);
    expect(codeOf(['--tls=false', '--tls-cert', 'c.pem', '--tls-key', 'k.pem'])).toBe(
      RendezvousErrorCode.BAD_FLAG,
    );
    expect(codeOf(['--tls=false', '--require-tls'])).toBe(RendezvousErrorCode.BAD_FLAG);
    expect(codeOf(['--tls-cert', 'c.pem'])).toBe(RendezvousErrorCode.BAD_FLAG);
    expect(codeOf(['--tls=maybe'])).toBe(RendezvousErrorCode.BAD_FLAG);
    expect(codeOf(['--admin-token', 'short'])).toBe(RendezvousErrorCode.BAD_FLAG);
    expect(codeOf(['--registry-addr', 'localhost'])).toBe(RendezvousErrorCode.BAD_FLAG);
  });

  it('reads a --config file keyed by flag names; the command line wins', () => {
    const file = join(dir, 'rdv.json');
    writeFileSync(
      file,
      JSON.stringify({
        'registry-addr': '127.0.0.1:7100',
        store: join(dir, 'a.db'),
        tls: true,
        tls_cert: 'c.pem',
        'tls-key': 'k.pem',
        'admin-token': 'from-the-file',
      }),
    );
    const config = run(['--config', file, '--registry-addr', '127.0.0.1:7200']);
    expect(config.registryAddr.port).toBe(7200);
    expect(config.store).toBe(join(dir, 'a.db'));
    expect(config.tls).toMatchObject({ source: 'files', certFile: expect.stringMatching(/c\.pem$/) });
    expect(config.adminToken).toBe('from-the-file');
  });

  it('refuses a bad --config file with RDV_BAD_CONFIG', () => {
    const cases: [string, string][] = [
      ['missing.json', ''],
      ['broken.json', '{'],
      ['array.json', '[]'],
      ['unknown.json', '{"registry":"x"}'],
      ['type.json', '{"tls":"yes"}'],
    ];
    for (const [name, text] of cases) {
      const file = join(dir, name);
      if (text !== '') writeFileSync(file, text);
      expect(codeOf(['--config', file])).toBe(RendezvousErrorCode.BAD_CONFIG);
    }
  });
});

describe('--beacon-sync-keys', () => {
  const keyA = 'ab'.repeat(32);
  const keyAll = 'cd'.repeat(16);
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const peers = ['--beacon-peers', '10.0.0.1:9001,10.0.0.2:9001'];

  it('gives each peer its key, "*" the others', () => {
    const keys = file('keys', `# comment\n10.0.0.1:9001 ${keyA}\n\n*   ${keyAll}  # all others\n`);
    const config = run([...peers, '--beacon-sync-keys', keys]);
    expect(config.beaconPeers).toEqual([
      { host: '10.0.0.1', port: 9001, key: new Uint8Array(Buffer.from(keyA, 'hex')) },
      { host: '10.0.0.2', port: 9001, key: new Uint8Array(Buffer.from(keyAll, 'hex')) },
    ]);
    // Without "*", a peer not listed stays unkeyed (a reference beacon).
    const one = run([...peers, '--beacon-sync-keys', file('one', `10.0.0.2:9001 ${keyA}\n`)]);
    expect(one.beaconPeers[0]).toEqual({ host: '10.0.0.1', port: 9001 });
  });

  it('refuses short or non-hex keys, unknown peers, duplicates, a missing file, keys without peers', () => {
    for (const text of [
      `10.0.0.1:9001 ${'ab'.repeat(15)}`,
      `10.0.0.1:9001 ${'zz'.repeat(16)}`,
      `10.0.0.9:9001 ${keyA}`,
      `* ${keyA}\n* ${keyA}`,
      `10.0.0.1:9001`,
      `10.0.0.1:9001 ${keyA} extra`,
    ]) {
      expect(codeOf([...peers, '--beacon-sync-keys', file('bad', text)]), text).toBe(
        RendezvousErrorCode.BAD_CONFIG,
      );
    }
    expect(codeOf([...peers, '--beacon-sync-keys', join(dir, 'absent')])).toBe(
      RendezvousErrorCode.BAD_CONFIG,
    );
    expect(codeOf(['--beacon-sync-keys', file('ok', `* ${keyA}`)])).toBe(RendezvousErrorCode.BAD_CONFIG);
  });
});

describe('logger', () => {
  it('writes text or JSON lines at or above its level', () => {
    const lines: string[] = [];
    const clock = (): Date => new Date(0);
    const text = createLogger('info', 'text', (l) => lines.push(l), clock);
    text.log('debug', 'hidden');
    text.log('warn', 'disk low', { free: '1 GiB', pct: 3 });
    const json = createLogger('error', 'json', (l) => lines.push(l), clock);
    json.log('info', 'hidden');
    json.log('error', 'boom', { code: 'X', skip: undefined });
    expect(lines).toEqual([
      '1970-01-01T00:00:00.000Z WARN disk low free="1 GiB" pct=3\n',
      '{"time":"1970-01-01T00:00:00.000Z","level":"error","msg":"boom","code":"X"}\n',
    ]);
  });
});
