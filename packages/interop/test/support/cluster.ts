import type { ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DAEMON_MAIN, PILOTCTL_MAIN, RENDEZVOUS_MAIN } from './paths.js';
import { eventually, freePort, run, sleep, spawnLogged, stopChild } from './processes.js';

/** Which implementation: pilot-ts or the reference (Go). */
export type Impl = 'ts' | 'ref';

export const IMPL_NAME: Readonly<Record<Impl, string>> = { ts: 'pilot-ts', ref: 'reference' };

/** What a pilotctl run printed: `--json` gives `{status:"ok",data}` on stdout, errors as JSON on stderr (both). */
export type CtlResult = {
  readonly ok: boolean;
  readonly exit: number | null;
  // biome-ignore lint/suspicious/noExplicitAny: the two CLIs' JSON documents, read field by field in tests
  readonly data: Record<string, any>;
  readonly error: { readonly code?: string; readonly message?: string } | undefined;
  readonly stdout: string;
  readonly stderr: string;
};

function parseJson(text: string): Record<string, unknown> | undefined {
  const line = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('{'))
    .at(-1);
  if (line === undefined) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

export type RegistryOptions = {
  /** The reference's `-tls` (ours serves TLS by default, plaintext on the same port). */
  readonly tls?: boolean;
};

/** A rendezvous (registry + beacon) of either implementation on loopback, with its nodes. */
export class Cluster {
  readonly impl: Impl;
  readonly dir: string;
  readonly refBin: string;
  readonly registry: string;
  readonly beacon: string;
  readonly nodes: PilotNode[] = [];
  readonly #child: ChildProcess;

  private constructor(
    impl: Impl,
    dir: string,
    refBin: string,
    registry: string,
    beacon: string,
    child: ChildProcess,
  ) {
    this.impl = impl;
    this.dir = dir;
    this.refBin = refBin;
    this.registry = registry;
    this.beacon = beacon;
    this.#child = child;
  }

  static async start(impl: Impl, refBin: string, options: RegistryOptions = {}): Promise<Cluster> {
    const dir = mkdtempSync(join(tmpdir(), `interop-${impl}-`));
    const registryPort = await freePort();
    const beaconPort = await freePort();
    const registry = `127.0.0.1:${registryPort}`;
    const beacon = `127.0.0.1:${beaconPort}`;
    const log = join(dir, 'rendezvous.log');
    const child =
      impl === 'ts'
        ? spawnLogged(
            process.execPath,
            [
              RENDEZVOUS_MAIN,
              '--registry-addr',
              registry,
              '--beacon-addr',
              beacon,
              '--store',
              join(dir, 'registry.db'),
            ],
            { HOME: dir },
            log,
          )
        : spawnLogged(
            join(refBin, 'rendezvous'),
            [
              '-registry-addr',
              registry,
              '-beacon-addr',
              beacon,
              '-store',
              join(dir, 'registry.json'),
              ...(options.tls === true ? ['-tls'] : []),
            ],
            { HOME: dir },
            log,
          );
    const cluster = new Cluster(impl, dir, refBin, registry, beacon, child);
    await eventually(`the ${IMPL_NAME[impl]} rendezvous on ${registry}`, async () =>
      (await portOpen(registryPort)) ? true : undefined,
    );
    return cluster;
  }

  /** The SHA-256 of our rendezvous's self-signed certificate (kept beside its store), hex. */
  fingerprint(): string {
    const pem = readFileSync(join(this.dir, 'registry-tls.crt'), 'utf8');
    return new X509Certificate(pem).fingerprint256.replace(/:/g, '').toLowerCase();
  }

  log(): string {
    return readFileSync(join(this.dir, 'rendezvous.log'), 'utf8');
  }

  /** Starts a daemon of `impl` named `name` (its hostname), registered here; resolves once it answers `info`. */
  async node(impl: Impl, name: string, extra: readonly string[] = []): Promise<PilotNode> {
    const node = new PilotNode(this, impl, name, extra);
    this.nodes.push(node);
    await node.start();
    return node;
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
    await stopChild(this.#child);
    if (process.env.PILOT_INTEROP_KEEP === undefined) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** One daemon of either implementation, driven through its own pilotctl. */
export class PilotNode {
  readonly cluster: Cluster;
  readonly impl: Impl;
  readonly name: string;
  readonly home: string;
  readonly socket: string;
  readonly extra: readonly string[];
  nodeId = 0;
  address = '';
  /** The UDP port, fixed for the node's life so that a restart keeps its endpoint (see start()). */
  port = 0;
  #child: ChildProcess | undefined;

  constructor(cluster: Cluster, impl: Impl, name: string, extra: readonly string[]) {
    this.cluster = cluster;
    this.impl = impl;
    this.name = name;
    this.extra = extra;
    this.home = join(cluster.dir, name);
    this.socket = join(cluster.dir, `${name}.sock`);
    mkdirSync(this.home, { recursive: true });
  }

  /** Where this node's data-exchange service keeps received files. */
  get receivedDir(): string {
    return this.impl === 'ts' ? join(this.home, 'received') : join(this.home, '.pilot', 'received');
  }

  get label(): string {
    return `${IMPL_NAME[this.impl]} ${this.name}`;
  }

  log(): string {
    const file = join(this.cluster.dir, `${this.name}.log`);
    return existsSync(file) ? readFileSync(file, 'utf8') : '';
  }

  async start(): Promise<void> {
    // One UDP port for the node's life: the reference daemon keeps dialling a restarted peer's
    // old endpoint (it does not resolve it again) and only falls back to its beacon's relay after
    // ~15 s. A node that comes back on the same port is reached at once (see the README).
    if (this.port === 0) this.port = await freePort();
    const listen = `127.0.0.1:${this.port}`;
    const log = join(this.cluster.dir, `${this.name}.log`);
    const { registry, beacon, refBin } = this.cluster;
    this.#child =
      this.impl === 'ts'
        ? spawnLogged(
            process.execPath,
            [
              DAEMON_MAIN,
              '--registry',
              registry,
              '--beacon',
              beacon,
              '--listen',
              listen,
              '--socket',
              this.socket,
              '--home',
              this.home,
              '--hostname',
              this.name,
              '--handshake-poll',
              '1s',
              ...this.extra,
            ],
            { HOME: this.home, PILOT_HOME: this.home },
            log,
          )
        : spawnLogged(
            join(refBin, 'daemon'),
            [
              '-registry',
              registry,
              '-beacon',
              beacon,
              '-listen',
              listen,
              '-socket',
              this.socket,
              '-identity',
              join(this.home, 'identity.json'),
              '-hostname',
              this.name,
              '-email',
              `${this.name}@example.com`,
              // Its heartbeat tick also polls relayed handshakes: 30 s by default.
              '-keepalive',
              '2s',
              ...this.extra,
            ],
            { HOME: this.home },
            log,
          );
    const child = this.#child;
    // Until it answers info; a daemon that exits (a refused pin, a bad flag) fails at once.
    const deadline = Date.now() + 45_000;
    let info: CtlResult['data'] | undefined;
    while (info === undefined) {
      if (child.exitCode !== null)
        throw new Error(`${this.label} exited with ${child.exitCode}:\n${this.log().slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`${this.label} did not answer info within 45 s`);
      const r = await this.ctl(['info'], 10_000);
      if (r.ok && typeof r.data.node_id === 'number' && r.data.node_id > 0) info = r.data;
      else await sleep(300);
    }
    this.nodeId = info.node_id as number;
    this.address = info.address as string;
  }

  async stop(): Promise<void> {
    if (this.#child !== undefined) await stopChild(this.#child);
    this.#child = undefined;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Runs this node's own pilotctl with `--json`. */
  ctl(args: readonly string[], timeoutMs = 60_000): Promise<CtlResult> {
    return runCtl(this.impl, this.cluster.refBin, this, this.cluster.registry, args, timeoutMs);
  }

  /** Like ctl, but throws with the CLI's error when the command fails. */
  async must(args: readonly string[], timeoutMs = 60_000): Promise<CtlResult['data']> {
    const r = await this.ctl(args, timeoutMs);
    if (!r.ok)
      throw new Error(
        `${this.label}: pilotctl ${args.join(' ')} failed: ${JSON.stringify(r.error)} ${r.stderr.slice(-300)}`,
      );
    return r.data;
  }
}

/** Runs the pilotctl of `impl` for the daemon at `where.socket` (home `where.home`), with `--json`. */
export async function runCtl(
  impl: Impl,
  refBin: string,
  where: { readonly home: string; readonly socket: string },
  registry: string,
  args: readonly string[],
  timeoutMs = 60_000,
): Promise<CtlResult> {
  const result =
    impl === 'ts'
      ? await run(
          process.execPath,
          [PILOTCTL_MAIN, '--json', ...args],
          { HOME: where.home, PILOT_HOME: where.home, PILOT_SOCKET: where.socket, PILOT_REGISTRY: registry },
          timeoutMs,
        )
      : await run(
          join(refBin, 'pilotctl'),
          ['--json', ...args],
          // Its registry commands dial the registry themselves; the default is the public one.
          { HOME: where.home, PILOT_SOCKET: where.socket, PILOT_REGISTRY: registry },
          timeoutMs,
        );
  const out = parseJson(result.stdout);
  const err = parseJson(result.stderr);
  const ok = result.status === 0 && out?.status === 'ok';
  return {
    ok,
    exit: result.status,
    data: (out?.data as Record<string, unknown> | undefined) ?? {},
    error: ok ? undefined : ((err ?? out ?? { message: result.stderr.slice(-500) }) as CtlResult['error']),
    stdout: result.stdout,
    stderr: result.stderr,
  };
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
