import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Envelope, pilotctlJson } from './pilotctl-json.js';

/** The repository root, seen from apps/demo/dist. */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const RENDEZVOUS = join(ROOT, 'apps', 'rendezvous', 'dist', 'main.js');

export interface QuickstartOptions {
  /** Size of the file sent from alpha to beta. */
  readonly fileBytes?: number;
  readonly log: (line: string) => void;
  /** Aborting stops between steps; the daemons and the rendezvous are stopped either way. */
  readonly signal?: AbortSignal;
}

export interface QuickstartResult {
  readonly alpha: { readonly address: string; readonly node_id: number };
  readonly beta: { readonly address: string; readonly node_id: number };
  readonly hiddenBeforeTrust: boolean;
  readonly found: string;
  readonly ping: { readonly replies: number; readonly avg_ms: number; readonly path: string };
  readonly file: { readonly bytes: number; readonly sha256: string; readonly arrivedIntact: boolean };
}

/** A free port on loopback, for TCP or UDP (released before the program that uses it binds it). */
async function freePort(kind: 'tcp' | 'udp'): Promise<number> {
  if (kind === 'tcp') {
    const server = createServer();
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const address = server.address();
    await new Promise<void>((done) => server.close(() => done()));
    return typeof address === 'object' && address !== null ? address.port : 0;
  }
  const socket = createSocket('udp4');
  await new Promise<void>((done) => socket.bind(0, '127.0.0.1', done));
  const port = socket.address().port;
  await new Promise<void>((done) => socket.close(() => done()));
  return port;
}

/** Runs `pilotctl --json …` for one agent and returns its envelope. */
function pilotctl(home: string, socket: string, args: readonly string[]): Promise<Envelope> {
  return pilotctlJson({ PILOT_HOME: home, PILOT_SOCKET: socket }, args);
}

async function ok(home: string, socket: string, args: readonly string[]): Promise<Record<string, unknown>> {
  const reply = await pilotctl(home, socket, args);
  if (reply.status !== 'ok') throw new Error(`pilotctl ${args[0]}: ${reply.code}: ${reply.message}`);
  return reply.data;
}

async function startRendezvous(
  dir: string,
): Promise<{ child: ChildProcess; registry: string; beacon: string; fingerprint: string }> {
  const registry = `127.0.0.1:${await freePort('tcp')}`;
  const beacon = `127.0.0.1:${await freePort('udp')}`;
  const child = spawn(
    process.execPath,
    [
      RENDEZVOUS,
      '--registry-addr',
      registry,
      '--beacon-addr',
      beacon,
      '--store',
      join(dir, 'directory.db'),
      '--log-format',
      'json',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // The registry serves TLS; its start line names the certificate's fingerprint, which the daemons pin.
  const fingerprint = await new Promise<string>((done, fail) => {
    let seen = '';
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString('utf8');
      const newline = seen.indexOf('\n');
      if (newline >= 0) {
        child.stdout?.off('data', onData);
        const line = JSON.parse(seen.slice(0, newline)) as { fingerprint?: unknown };
        if (typeof line.fingerprint === 'string') done(line.fingerprint);
        else fail(new Error(`the rendezvous announced no TLS fingerprint: ${seen}`));
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => fail(new Error(`the rendezvous exited (${code}): ${seen}`)));
  });
  return { child, registry, beacon, fingerprint };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill('SIGTERM');
  await exited;
}

/**
 * The quick start: a rendezvous and two daemons on loopback, each a real process driven by
 * `pilotctl`. Alpha cannot see beta until beta approves its handshake (agents are private by
 * default); then alpha finds beta by hostname, pings it and sends it a file whose hash is checked
 * on arrival.
 */
export async function runQuickstart(options: QuickstartOptions): Promise<QuickstartResult> {
  const { log, signal } = options;
  const step = (): void => signal?.throwIfAborted();
  const dir = await mkdtemp(join(tmpdir(), 'pilot-quickstart-'));
  const homes = { alpha: join(dir, 'alpha'), beta: join(dir, 'beta') };
  const sockets = { alpha: join(dir, 'alpha.sock'), beta: join(dir, 'beta.sock') };
  let rendezvous: ChildProcess | undefined;
  const started: Array<'alpha' | 'beta'> = [];
  try {
    const rv = await startRendezvous(dir);
    rendezvous = rv.child;
    log(
      `rendezvous   registry tls ${rv.registry} (sha256 ${rv.fingerprint.slice(0, 16)}…), beacon udp ${rv.beacon}`,
    );

    const start = async (name: 'alpha' | 'beta') => {
      const data = await ok(homes[name], sockets[name], [
        'daemon',
        'start',
        '--registry',
        rv.registry,
        '--registry-tls',
        '--registry-fingerprint',
        rv.fingerprint,
        '--beacon',
        rv.beacon,
        '--listen',
        '127.0.0.1:0',
        '--socket',
        sockets[name],
        '--hostname',
        `agent-${name}`,
      ]);
      started.push(name);
      const node = { address: String(data.address), node_id: Number(data.node_id) };
      log(`daemon       agent-${name} is ${node.address} (pid ${String(data.pid)})`);
      return node;
    };
    step();
    const alpha = await start('alpha');
    step();
    const beta = await start('beta');
    const a = (args: readonly string[]) => {
      step();
      return ok(homes.alpha, sockets.alpha, args);
    };
    const b = (args: readonly string[]) => {
      step();
      return ok(homes.beta, sockets.beta, args);
    };

    const info = await a(['info']);
    log(
      `registry     alpha's link: ${info.registry_tls === true ? `TLS, certificate pinned (${String(info.registry_pin)})` : 'plaintext'}`,
    );

    const before = await pilotctl(homes.alpha, sockets.alpha, ['find', 'agent-beta']);
    const hiddenBeforeTrust = before.status === 'error';
    log(
      `find         agent-beta from alpha: ${hiddenBeforeTrust ? 'not visible (private by default)' : 'visible'}`,
    );

    await a(['handshake', String(beta.node_id), 'quick start']);
    log(`handshake    alpha asks beta for trust`);
    await waitFor(async () => {
      const pending = await b(['pending']);
      const list = Array.isArray(pending.pending) ? (pending.pending as Array<{ node_id: number }>) : [];
      return list.some((entry) => entry.node_id === alpha.node_id);
    }, signal);
    await b(['approve', String(alpha.node_id)]);
    log(`approve      beta approves alpha: trust is mutual`);

    const found = await waitFor(async () => {
      const reply = await pilotctl(homes.alpha, sockets.alpha, ['find', 'agent-beta']);
      return reply.status === 'ok' ? String(reply.data.address) : undefined;
    }, signal);
    log(`find         agent-beta → ${found}`);

    const ping = await a(['ping', 'agent-beta', '--count', '4']);
    const pingResult = {
      replies: Number(ping.replies),
      avg_ms: Number(ping.avg_ms),
      path: String(ping.path),
    };
    log(
      `ping         ${pingResult.replies} replies from ${found} · ${pingResult.avg_ms.toFixed(2)} ms (${pingResult.path})`,
    );

    const size = options.fileBytes ?? 8 * 1024 * 1024;
    const payload = randomBytes(size);
    const sha256 = createHash('sha256').update(payload).digest('hex');
    const path = join(dir, 'report.bin');
    await writeFile(path, payload);
    const sent = await a(['send-file', 'agent-beta', path]);
    const received = await waitFor(async () => {
      const files = await readdir(join(homes.beta, 'received')).catch(() => [] as string[]);
      const hit = files.find((name) => name.startsWith('report'));
      return hit === undefined ? undefined : join(homes.beta, 'received', hit);
    }, signal);
    const arrived = createHash('sha256')
      .update(await readFile(received))
      .digest('hex');
    const file = {
      bytes: Number(sent.bytes),
      sha256: String(sent.sha256),
      arrivedIntact: arrived === sha256,
    };
    log(
      `send-file    ${(size / 1048576).toFixed(0)} MiB to agent-beta, sha256 ${sha256.slice(0, 16)}… ${file.arrivedIntact ? 'matches on arrival' : 'DIFFERS'}`,
    );
    return { alpha, beta, hiddenBeforeTrust, found, ping: pingResult, file };
  } finally {
    for (const name of started)
      await pilotctl(homes[name], sockets[name], ['daemon', 'stop']).catch(() => undefined);
    if (rendezvous !== undefined) await stop(rendezvous);
    await rm(dir, { recursive: true, force: true });
  }
}

/** Polls `check` until it yields a value (the trust handshake and the file arrive asynchronously). */
async function waitFor<T>(
  check: () => Promise<T | undefined | false>,
  signal?: AbortSignal,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    signal?.throwIfAborted();
    const value = await check();
    if (value !== undefined && value !== false) return value as T;
    if (Date.now() > deadline) throw new Error('timed out waiting for the peer');
    await new Promise((done) => setTimeout(done, 200));
  }
}
