import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A throwaway PostgreSQL server for tests: `initdb` in a temporary directory, listening only on a
 * Unix socket in that directory (no TCP port to collide with parallel tests), trust authentication
 * for the local superuser `pilot`. PostgreSQL refuses to run as root, so when the tests run as root
 * (CI) the server runs as the `postgres` user (or `nobody`) through `setpriv`, which execs in place:
 * the child's pid is the postmaster's, and `stop()` shuts it down.
 */
export type TestPostgres = {
  /** `postgres://pilot@/pilot?host=<socket dir>`: what `pg` and `pilot-rendezvous --store` take. */
  readonly url: string;
  /** The socket directory (libpq's `host` for a Unix socket). */
  readonly socketDir: string;
  /** Creates another empty database on the same server; returns its URL. */
  createDatabase(name: string): string;
  /** Fast shutdown (SIGINT), waits for the postmaster to exit, removes the directory. */
  stop(): Promise<void>;
};

/** The directory of PostgreSQL's server programs: `PILOT_PG_BIN`, else the newest Debian install. */
export function findPostgresBin(): string | undefined {
  const fromEnv = process.env.PILOT_PG_BIN;
  if (fromEnv !== undefined && existsSync(join(fromEnv, 'initdb'))) return fromEnv;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((name) => existsSync(join(root, name, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
}

function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    try {
      const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
      if (Number.isInteger(uid) && Number.isInteger(gid)) return { uid, gid };
    } catch {
      // try the next candidate
    }
  }
  throw new Error('running as root and no postgres/nobody user to run PostgreSQL as');
}

function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) chownTree(child, uid, gid);
    else chownSync(child, uid, gid);
  }
}

function asServerUser(
  user: { uid: number; gid: number } | undefined,
  command: string,
  args: string[],
): [string, string[]] {
  if (user === undefined) return [command, args];
  return [
    'setpriv',
    [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--inh-caps=-all', command, ...args],
  ];
}

/** Starts a PostgreSQL server; resolves once it accepts connections. */
export async function startPostgres(
  options: {
    readonly timeoutMs?: number;
    /** Server settings (`-c name=value`), e.g. `{ shared_buffers: '256MB' }` for a benchmark. */
    readonly settings?: Readonly<Record<string, string>>;
  } = {},
): Promise<TestPostgres> {
  const bin = findPostgresBin();
  if (bin === undefined) throw new Error('PostgreSQL is not installed (apt-get install postgresql)');
  const user = serverUser();
  const root = mkdtempSync(join(tmpdir(), 'pilot-pg-'));
  const data = join(root, 'data');
  if (user !== undefined) chownTree(root, user.uid, user.gid);
  const [initCommand, initArgs] = asServerUser(user, join(bin, 'initdb'), [
    '-D',
    data,
    '-U',
    'pilot',
    '--auth=trust',
    '--no-sync',
    '-E',
    'UTF8',
    '--locale=C',
  ]);
  try {
    execFileSync(initCommand, initArgs, { stdio: 'pipe', cwd: root });
  } catch (error) {
    rmSync(root, { recursive: true, force: true });
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`initdb failed: ${stderr || String(error)}`);
  }
  const settings: Record<string, string> = {
    listen_addresses: '',
    max_connections: '60',
    shared_buffers: '32MB',
    ...options.settings,
  };
  const [command, args] = asServerUser(user, join(bin, 'postgres'), [
    '-D',
    data,
    '-k',
    root,
    ...Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
  ]);
  const child: ChildProcess = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: root });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const socket = join(root, '.s.PGSQL.5432');
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  while (!(log.includes('ready to accept connections') && existsSync(socket))) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited;
      rmSync(root, { recursive: true, force: true });
      throw new Error(`PostgreSQL did not start: ${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const urlFor = (database: string): string =>
    `postgres://pilot@/${database}?host=${encodeURIComponent(root)}`;
  const createDatabase = (name: string): string => {
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
    execFileSync(join(bin, 'createdb'), ['-h', root, '-U', 'pilot', name], { stdio: 'pipe' });
    return urlFor(name);
  };
  return {
    url: createDatabase('pilot'),
    socketDir: root,
    createDatabase,
    async stop(): Promise<void> {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
      rmSync(root, { recursive: true, force: true });
    },
  };
}
