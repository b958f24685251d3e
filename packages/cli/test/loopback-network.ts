// A real registry (SQLite in a temp dir) and beacon in the test process, and daemons started with
// `pilotctl daemon start` as real detached processes: what the end-to-end tests of pilotctl run on.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DirectoryServer, RegistryHandler, startDirectoryServer } from '@pilot/directory/server';
import { SqliteDirectoryStore } from '@pilot/directory/sqlite';
import { Beacon } from '@pilot/nat';
import { ok, pilotctl } from './pilotctl-process.js';

export interface LoopbackNode {
  readonly name: string;
  /** PILOT_HOME and PILOT_SOCKET, for pilotctl. */
  readonly env: NodeJS.ProcessEnv;
  readonly home: string;
  readonly address: string;
  readonly nodeId: number;
  readonly pid: number;
}

export class LoopbackNetwork {
  readonly root: string;
  readonly nodes: LoopbackNode[] = [];
  readonly #store: SqliteDirectoryStore;
  readonly #server: DirectoryServer;
  readonly #beacon: Beacon;

  private constructor(root: string, store: SqliteDirectoryStore, server: DirectoryServer, beacon: Beacon) {
    this.root = root;
    this.#store = store;
    this.#server = server;
    this.#beacon = beacon;
  }

  static async start(prefix: string): Promise<LoopbackNetwork> {
    const root = mkdtempSync(join(tmpdir(), prefix));
    const store = new SqliteDirectoryStore({ path: join(root, 'directory.db') });
    const server = await startDirectoryServer({
      handler: new RegistryHandler(store),
      host: '127.0.0.1',
      port: 0,
    });
    const beacon = await Beacon.start({ host: '127.0.0.1', port: 0 });
    return new LoopbackNetwork(root, store, server, beacon);
  }

  get registry(): string {
    return `127.0.0.1:${this.#server.port}`;
  }

  get beacon(): string {
    return `127.0.0.1:${this.#beacon.address().port}`;
  }

  /** `pilotctl daemon start` for `name` (PILOT_HOME `<root>/<name>`), registered here. */
  async startNode(name: string, extra: readonly string[] = []): Promise<LoopbackNode> {
    const home = join(this.root, name);
    const socket = join(this.root, `${name}.sock`);
    const data = await ok(
      [
        'daemon',
        'start',
        '--registry',
        this.registry,
        '--beacon',
        this.beacon,
        '--listen',
        '127.0.0.1:0',
        '--socket',
        socket,
        '--hostname',
        name,
        ...extra,
      ],
      { PILOT_HOME: home },
    );
    const node: LoopbackNode = {
      name,
      home,
      env: { PILOT_HOME: home, PILOT_SOCKET: socket },
      address: String(data.address),
      nodeId: Number(data.node_id),
      pid: Number(data.pid),
    };
    this.nodes.push(node);
    return node;
  }

  node(name: string): LoopbackNode {
    const found = this.nodes.find((n) => n.name === name);
    if (found === undefined) throw new Error(`no node ${name}`);
    return found;
  }

  /** Stops every daemon (`daemon stop`, SIGKILL if that fails), the beacon and the registry; removes the dir. */
  async stop(): Promise<void> {
    for (const node of this.nodes) {
      const stopped = await pilotctl(['daemon', 'stop'], node.env);
      if (stopped.status !== 0 && node.pid > 0) {
        try {
          process.kill(node.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }
    await this.#beacon.close();
    await this.#server.close();
    this.#store.close();
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** Retries `attempt` until it returns a value (not undefined), for what settles asynchronously. */
export async function eventually<T>(
  attempt: () => Promise<T | undefined>,
  what = 'condition',
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
