import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { Driver, type InfoJson } from '@pilot/daemon/driver';
import { type Address, formatAddress } from '@pilot/wire';
import { type PilotConfig, pilotHome, readConfig } from './config.js';
import { cliError, toCliError } from './errors.js';
import type { Output } from './output.js';

/** The process around a command: streams, environment, and an exit signal (Ctrl-C). */
export interface CliIo {
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly env: NodeJS.ProcessEnv;
  /** Whether stderr is a terminal (progress bars). */
  readonly stderrIsTty: boolean;
  /** Aborted on SIGINT/SIGTERM: long-running commands stop and report what they have. */
  readonly signal: AbortSignal;
}

/**
 * What a command works with: the output, PILOT_HOME and its config, the daemon's socket, and a
 * driver opened on first use and closed when the command ends.
 */
export class Context {
  readonly io: CliIo;
  readonly out: Output;
  readonly home: string;
  readonly socketPath: string;
  /** The command's own arguments (after its name), as given. */
  readonly argv: readonly string[];
  readonly #socketFlag: string | undefined;
  #config: PilotConfig | undefined;
  #driver: Promise<Driver> | undefined;

  constructor(io: CliIo, out: Output, socketFlag: string | undefined, argv: readonly string[] = []) {
    this.io = io;
    this.argv = argv;
    this.out = out;
    this.home = pilotHome(io.env);
    this.#socketFlag = socketFlag;
    this.socketPath = this.#resolveSocket();
  }

  get config(): PilotConfig {
    this.#config ??= readConfig(this.home);
    return this.#config;
  }

  /** Whether --socket was given on the command line. */
  get socketGiven(): boolean {
    return this.#socketFlag !== undefined;
  }

  /** The driver, connected on first use (not_running when no daemon answers). */
  driver(): Promise<Driver> {
    this.#driver ??= Driver.connect(this.socketPath);
    return this.#driver;
  }

  async info(): Promise<InfoJson> {
    return (await this.driver()).info({ timeoutMs: 15_000 });
  }

  /** A peer written as an address, node ID or hostname, resolved through the daemon. */
  async resolve(target: string): Promise<Address> {
    try {
      return await (await this.driver()).resolve(target);
    } catch (error) {
      const failure = toCliError(error);
      if (failure.cliCode === 'not_found' || failure.cliCode === 'not_trusted') {
        throw cliError(
          failure.cliCode,
          `cannot resolve "${target}": ${failure.message}`,
          'check the name with "pilotctl find <hostname>"; a private node resolves only for nodes it trusts',
        );
      }
      throw failure;
    }
  }

  /** A node ID from an address, a node ID or a hostname. */
  async nodeId(target: string): Promise<number> {
    return (await this.resolve(target)).node;
  }

  formatAddress(address: Address): string {
    return formatAddress(address);
  }

  async close(): Promise<void> {
    const driver = this.#driver;
    this.#driver = undefined;
    if (driver === undefined) return;
    try {
      await (await driver).close();
    } catch {
      // It never connected.
    }
  }

  #resolveSocket(): string {
    if (this.#socketFlag !== undefined) return this.#socketFlag;
    const env = this.io.env.PILOT_SOCKET;
    if (env !== undefined && env !== '') return env;
    try {
      const fromConfig = this.config.socket;
      if (typeof fromConfig === 'string' && fromConfig !== '') return fromConfig;
    } catch {
      // A broken config reports itself when a command reads it.
    }
    // In PILOT_HOME (owner-only), where the daemon puts it by default; never /tmp.
    return join(this.home, 'pilot.sock');
  }
}
