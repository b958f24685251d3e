import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { decodeIdentityFile } from '@pilot/crypto';
import { Driver, defaultSocketPath, type InfoJson } from '@pilot/daemon/driver';
import {
  DirectoryClient,
  type DirectorySigner,
  resolveRegistryLink,
  signerFromIdentity,
} from '@pilot/directory/client';
import { type Address, isPilotError } from '@pilot/wire';
import { ToolFailure, toToolFailure } from './tool-error.js';

/** What the tool server lets an agent send, and how long it waits for peers. */
export interface ToolLimits {
  /** Bytes of a message, event, remote tool's arguments (default 1 MiB). */
  readonly maxPayloadBytes: number;
  /** Bytes of a file `pilot_send_file` sends (default 64 MiB). */
  readonly maxFileBytes: number;
  /** How long a dial to a peer may take (default 15 s). */
  readonly dialTimeoutMs: number;
  /** How long a peer may take to answer (default 30 s). */
  readonly replyTimeoutMs: number;
}

export const DEFAULT_TOOL_LIMITS: ToolLimits = {
  maxPayloadBytes: 1024 * 1024,
  maxFileBytes: 64 * 1024 * 1024,
  dialTimeoutMs: 15_000,
  replyTimeoutMs: 30_000,
};

export interface PilotNodeOptions {
  /** The daemon's IPC socket (default $PILOT_SOCKET, else $PILOT_HOME/pilot.sock). */
  readonly socketPath?: string;
  /** PILOT_HOME, where the identity, inbox/ and received/ are when the daemon does not say. */
  readonly home?: string;
  readonly limits?: Partial<ToolLimits>;
}

function splitHostPort(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[3]);
  if (match === null || port > 65_535)
    throw new ToolFailure('unavailable', `the daemon's registry address "${text}" is not host:port`);
  return { host: match[1] ?? (match[2] || '127.0.0.1'), port };
}

/**
 * The local daemon as the tools see it: one driver for requests (reconnected if the daemon
 * restarts), and a driver of its own for each stream-holding operation, because the daemon answers
 * one IPC connection's requests in order and a slow dial must not stall `pilot_info`.
 */
export class PilotNode {
  readonly socketPath: string;
  readonly limits: ToolLimits;
  readonly #home: string;
  #control: Promise<Driver> | undefined;
  readonly #open = new Set<Driver>();
  #closed = false;

  constructor(options: PilotNodeOptions = {}) {
    this.socketPath = options.socketPath ?? defaultSocketPath();
    this.#home = options.home ?? process.env.PILOT_HOME ?? join(homedir(), '.pilot');
    this.limits = { ...DEFAULT_TOOL_LIMITS, ...options.limits };
  }

  /** The request driver, connected on first use (not_running when no daemon answers). */
  async control(): Promise<Driver> {
    if (this.#closed) throw new ToolFailure('not_running', 'the tool server is closing');
    const current = this.#control;
    if (current !== undefined) {
      const driver = await current.catch(() => undefined);
      if (driver !== undefined && !driver.closed) return driver;
    }
    const next = Driver.connect(this.socketPath);
    this.#control = next;
    next.catch(() => {
      if (this.#control === next) this.#control = undefined;
    });
    try {
      return await next;
    } catch (error) {
      throw toToolFailure(error);
    }
  }

  /** A driver of its own for `use`, closed when `use` settles unless it keeps it (`keep`). */
  async withDriver<T>(use: (driver: Driver, keep: () => void) => Promise<T>): Promise<T> {
    const driver = await this.openDriver();
    let kept = false;
    try {
      return await use(driver, () => {
        kept = true;
      });
    } finally {
      if (!kept) await this.closeDriver(driver);
    }
  }

  /** A driver the caller closes with closeDriver (or that close() closes). */
  async openDriver(): Promise<Driver> {
    if (this.#closed) throw new ToolFailure('not_running', 'the tool server is closing');
    let driver: Driver;
    try {
      driver = await Driver.connect(this.socketPath);
    } catch (error) {
      throw toToolFailure(error);
    }
    this.#open.add(driver);
    return driver;
  }

  async closeDriver(driver: Driver): Promise<void> {
    this.#open.delete(driver);
    await driver.close().catch(() => undefined);
  }

  async info(): Promise<InfoJson> {
    return (await this.control()).info({ timeoutMs: 15_000 });
  }

  /** The daemon's home (Info `home`), else PILOT_HOME. */
  async home(): Promise<string> {
    try {
      const info = await this.info();
      if (typeof info.home === 'string' && info.home !== '') return info.home;
    } catch {
      // No daemon: the local files are still readable.
    }
    return this.#home;
  }

  /** An address, node ID or hostname as an Address (hostnames resolved by the daemon). */
  async resolve(target: string): Promise<Address> {
    const trimmed = target.trim();
    if (trimmed === '') throw new ToolFailure('invalid_argument', 'the peer is empty');
    try {
      return await (await this.control()).resolve(trimmed);
    } catch (error) {
      const failure = toToolFailure(error);
      if (failure.code === 'not_found' || failure.code === 'not_trusted')
        throw new ToolFailure(failure.code, `cannot resolve "${trimmed}": ${failure.message}`, {
          ...(failure.pilotCode === undefined ? {} : { pilotCode: failure.pilotCode }),
        });
      throw failure;
    }
  }

  /** Whether this node trusts `node` (the daemon's trust list). */
  async trusts(node: number): Promise<boolean> {
    const trusted = await (await this.control()).trusted({ timeoutMs: 15_000 });
    return trusted.some((peer) => peer.node_id === node);
  }

  /** A registry client on the daemon's registry, for `use` only. */
  async withRegistry<T>(use: (client: DirectoryClient) => Promise<T>): Promise<T> {
    const info = await this.info();
    if (typeof info.registry !== 'string' || info.registry === '')
      throw new ToolFailure('unavailable', 'the daemon names no registry');
    // The registry the daemon talks to now (`--registry a,b` fails over), else the first it names.
    const active =
      typeof info.registry_active === 'string' && info.registry_active !== ''
        ? info.registry_active
        : undefined;
    const parts = splitHostPort(active ?? info.registry.split(',')[0] ?? '');
    // The daemon's link settings: a TLS link it pinned stays TLS and pinned for us too.
    const fingerprint = typeof info.registry_fingerprint === 'string' ? info.registry_fingerprint : '';
    const tls = typeof info.registry_tls === 'boolean' ? info.registry_tls : undefined;
    const home = typeof info.home === 'string' && info.home !== '' ? info.home : this.#home;
    let client: DirectoryClient;
    try {
      const link = await resolveRegistryLink({
        ...parts,
        ...(tls === undefined ? {} : { tls }),
        ...(fingerprint === '' ? {} : { fingerprint }),
        knownFile: join(home, 'known_registries.json'),
      });
      client = await DirectoryClient.connect({
        ...parts,
        requestTimeoutMs: 10_000,
        reconnectAttempts: 1,
        ...(link.tls === undefined ? {} : { tls: link.tls }),
      });
    } catch (error) {
      if (isPilotError(error, 'DIR_PIN_MISMATCH'))
        throw new ToolFailure('unavailable', `refusing the registry at ${info.registry}: ${error.message}`, {
          pilotCode: error.code,
        });
      throw new ToolFailure(
        'unavailable',
        `cannot reach the registry at ${info.registry}: ${(error as Error).message}`,
      );
    }
    try {
      return await use(client);
    } finally {
      client.close();
    }
  }

  /**
   * This node, to sign a registry search with (the registry then also shows the private nodes that
   * trust it); undefined when the identity cannot be read.
   */
  async searcher(): Promise<{ nodeId: number; signer: DirectorySigner } | undefined> {
    try {
      const info = await this.info();
      const home = typeof info.home === 'string' && info.home !== '' ? info.home : this.#home;
      const identity = decodeIdentityFile(await readFile(join(home, 'identity.json'), 'utf8'));
      return { nodeId: info.node_id, signer: signerFromIdentity(identity) };
    } catch {
      return undefined;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const control = this.#control;
    this.#control = undefined;
    for (const driver of [...this.#open]) await this.closeDriver(driver);
    if (control !== undefined) await (await control.catch(() => undefined))?.close().catch(() => undefined);
  }
}
