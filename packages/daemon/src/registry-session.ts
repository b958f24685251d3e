import type { Identity } from '@pilot/crypto';
import {
  type Dialer,
  DirectoryClient,
  type DirectorySigner,
  type RegisterOptions,
  type RegisterResult,
  type RegistryLink,
  resolveRegistryLink,
  signerFromIdentity,
} from '@pilot/directory/client';
import { DaemonErrorCode, daemonError, errorMessage } from './errors.js';
import type { Logger } from './logger.js';

export interface RegistrySessionOptions {
  readonly host: string;
  readonly port: number;
  /**
   * Other registries of the same network (`--registry a,b,c`: instances sharing one database), tried
   * in order when the current one cannot be reached; the session registers again on the one it
   * moves to. Tunnels do not depend on the registry and are kept.
   */
  readonly fallbacks?: readonly { readonly host: string; readonly port: number }[];
  readonly identity: Identity;
  /** `--registry-tls`: true requires TLS, false asks for plaintext, undefined takes TLS when offered. */
  readonly tls?: boolean;
  /** `--registry-fingerprint`. */
  readonly fingerprint?: string;
  /** `--proxy`: reach the registry through an HTTP CONNECT proxy. */
  readonly dial?: Dialer;
  /** known_registries.json (fingerprints trusted on first use). */
  readonly knownRegistries?: string;
  /** What to register with, asked again at every (re-)registration. */
  readonly registration: () => RegisterOptions;
  readonly heartbeatMs: number;
  readonly pollMs: number;
  readonly log: Logger;
  /** After each successful registration; `again` is false the first time. */
  readonly onRegistered: (result: RegisterResult, again: boolean) => Promise<void>;
  /** The reply of poll_handshakes (requests and responses relayed to us). */
  readonly onPoll: (reply: Record<string, unknown>) => Promise<void>;
  /** Requests caused by strangers that may wait on the registry connection (behind our own). */
  readonly maxBackgroundRequests?: number;
}

/** How the heartbeats fared (info's registry_session): the proof that floods do not delay them. */
export interface HeartbeatStats {
  readonly heartbeats: number;
  /** Round trip of the last heartbeat, and the longest since the start, in ms. */
  readonly rtt_last_ms: number;
  readonly rtt_max_ms: number;
  /** Time between consecutive successful heartbeats: the longest since the start, and the last 32. */
  readonly gap_max_ms: number;
  readonly recent_gaps_ms: readonly number[];
}

/**
 * The daemon's session with the registry: register, heartbeat, poll relayed handshakes, and
 * register again by itself when the registry stops answering (restart, lost state) and comes back.
 */
export class RegistrySession {
  readonly signer: DirectorySigner;
  readonly #options: RegistrySessionOptions;
  #client: DirectoryClient | undefined;
  #link: RegistryLink | undefined;
  readonly #endpoints: readonly { readonly host: string; readonly port: number }[];
  #current = 0;
  #nodeId = 0;
  #address = '';
  #timer: NodeJS.Timeout | undefined;
  #lastHeartbeat = 0;
  #needsRegister = false;
  #ticking = false;
  #closed = false;
  #suspended = false;
  registrations = 0;
  heartbeats = 0;
  #rttLast = 0;
  #rttMax = 0;
  #gapMax = 0;
  readonly #gaps: number[] = [];
  failures = 0;
  lastError: string | undefined;

  constructor(options: RegistrySessionOptions) {
    this.#options = options;
    this.signer = signerFromIdentity(options.identity);
    this.#endpoints = [{ host: options.host, port: options.port }, ...(options.fallbacks ?? [])];
  }

  /** The host of the registry in use (the rendezvous' TLS relay is on it). */
  get host(): string {
    return this.#endpoints[this.#current]!.host;
  }

  /** The registry in use, `host:port`. */
  get endpoint(): string {
    const current = this.#endpoints[this.#current]!;
    return `${current.host.includes(':') ? `[${current.host}]` : current.host}:${current.port}`;
  }

  get nodeId(): number {
    return this.#nodeId;
  }
  get address(): string {
    return this.#address;
  }
  /** How the registry link is protected (undefined before start). */
  get link(): RegistryLink | undefined {
    return this.#link;
  }
  /** False while the registry is unreachable (the daemon keeps serving its tunnels meanwhile). */
  get healthy(): boolean {
    return !this.#needsRegister && this.#nodeId !== 0;
  }

  /** The registry connection's queues (undefined before connecting). */
  get queue(): DirectoryClient['queue'] | undefined {
    return this.#client?.queue;
  }

  get client(): DirectoryClient {
    if (this.#client === undefined || this.#closed)
      throw daemonError(DaemonErrorCode.REGISTRY_UNAVAILABLE, 'not connected to the registry');
    return this.#client;
  }

  /** Connects and registers; rejects with DAEMON_REGISTRY_UNAVAILABLE when the registry cannot be reached. */
  async start(): Promise<RegisterResult> {
    let failure: unknown;
    for (let i = 0; i < this.#endpoints.length; i++) {
      try {
        await this.#connect(i);
        failure = undefined;
        break;
      } catch (error) {
        // A certificate that is not the pinned one is not a registry that is down: say so plainly.
        if ((error as { code?: unknown }).code === 'DIR_PIN_MISMATCH') throw error;
        failure ??= error;
      }
    }
    if (failure !== undefined) {
      throw daemonError(
        DaemonErrorCode.REGISTRY_UNAVAILABLE,
        `cannot reach the registry at ${this.#options.host}:${this.#options.port}: ${errorMessage(failure)}`,
        failure,
      );
    }
    const result = await this.#register(false);
    this.#lastHeartbeat = Date.now();
    this.#schedule();
    return result;
  }

  /** Connects to registry `index` of the list (its TLS link resolved as for the first). */
  async #connect(index: number): Promise<void> {
    const endpoint = this.#endpoints[index]!;
    const log = this.#options.log;
    const link = await resolveRegistryLink({
      host: endpoint.host,
      port: endpoint.port,
      ...(this.#options.tls === undefined ? {} : { tls: this.#options.tls }),
      ...(this.#options.fingerprint === undefined ? {} : { fingerprint: this.#options.fingerprint }),
      ...(this.#options.knownRegistries === undefined ? {} : { knownFile: this.#options.knownRegistries }),
      ...(this.#options.dial === undefined ? {} : { dial: this.#options.dial }),
      onNotice: (message, fields) => log.warn(message, fields),
    });
    const client = await DirectoryClient.connect({
      host: endpoint.host,
      port: endpoint.port,
      requestTimeoutMs: 8000,
      reconnectAttempts: 3,
      reconnectMaxDelayMs: 2000,
      ...(this.#options.maxBackgroundRequests === undefined
        ? {}
        : { maxBackgroundRequests: this.#options.maxBackgroundRequests }),
      ...(link.tls === undefined ? {} : { tls: link.tls }),
      ...(this.#options.dial === undefined ? {} : { dial: this.#options.dial }),
    });
    this.#client?.close();
    this.#client = client;
    this.#link = link;
    this.#current = index;
  }

  /** Moves to the next registry of the list that answers; false when none does (or there is one). */
  async #failover(): Promise<boolean> {
    for (let step = 1; step < this.#endpoints.length; step++) {
      const index = (this.#current + step) % this.#endpoints.length;
      try {
        const from = this.endpoint;
        await this.#connect(index);
        this.#options.log.warn('registry unreachable: moved to the next one', { from, to: this.endpoint });
        return true;
      } catch {
        // try the next one
      }
    }
    return false;
  }

  /** Runs a registry call, marking the session for re-registration when the registry fails us. */
  async call<T>(operation: (client: DirectoryClient) => Promise<T>): Promise<T> {
    try {
      return await operation(this.client);
    } catch (error) {
      if (isConnectionFailure(error)) this.#needsRegister = true;
      throw error;
    }
  }

  async #register(again: boolean): Promise<RegisterResult> {
    const client = this.client;
    const result = await client.register(this.signer, this.#options.registration());
    if (this.#nodeId !== 0 && result.nodeId !== this.#nodeId)
      this.#options.log.warn('the registry gave this node a new ID', {
        old: this.#nodeId,
        new: result.nodeId,
      });
    this.#nodeId = result.nodeId;
    this.#address = result.address;
    this.registrations++;
    this.#needsRegister = false;
    await this.#options.onRegistered(result, again);
    return result;
  }

  #schedule(): void {
    if (this.#closed || this.#suspended) return;
    this.#timer = setTimeout(() => void this.#tick(), this.#options.pollMs);
  }

  async #tick(): Promise<void> {
    if (this.#closed || this.#suspended || this.#ticking) return;
    this.#ticking = true;
    try {
      if (this.#needsRegister) {
        await this.#register(true);
        this.#options.log.info('registered again with the registry', { node_id: this.#nodeId });
        this.#lastHeartbeat = Date.now();
      } else if (Date.now() - this.#lastHeartbeat >= this.#options.heartbeatMs) {
        const sent = performance.now();
        await this.client.heartbeat(this.signer, this.#nodeId);
        this.#heartbeatDone(performance.now() - sent, Date.now() - this.#lastHeartbeat);
        this.#lastHeartbeat = Date.now();
      }
      if (!this.#closed) {
        const reply = await this.client.pollHandshakes(this.signer, this.#nodeId);
        await this.#options.onPoll(reply);
      }
      this.lastError = undefined;
    } catch (error) {
      if (!this.#closed) {
        this.failures++;
        this.lastError = errorMessage(error);
        if (!this.#needsRegister)
          this.#options.log.warn('registry request failed', { error: this.lastError });
        this.#needsRegister = true;
        // Another registry of the network, if there is one: register there at the next tick.
        if (isConnectionFailure(error) && this.#endpoints.length > 1 && !this.#closed) await this.#failover();
      }
    } finally {
      this.#ticking = false;
      this.#schedule();
    }
  }

  #heartbeatDone(rtt: number, gap: number): void {
    this.heartbeats++;
    this.#rttLast = Math.round(rtt);
    this.#rttMax = Math.max(this.#rttMax, this.#rttLast);
    this.#gapMax = Math.max(this.#gapMax, gap);
    this.#gaps.push(gap);
    if (this.#gaps.length > 32) this.#gaps.shift();
  }

  get heartbeatStats(): HeartbeatStats {
    return {
      heartbeats: this.heartbeats,
      rtt_last_ms: this.#rttLast,
      rtt_max_ms: this.#rttMax,
      gap_max_ms: this.#gapMax,
      recent_gaps_ms: [...this.#gaps],
    };
  }

  /** Deregisters, waiting at most `timeoutMs` (the reference's 3 s at shutdown). */
  async deregister(timeoutMs = 3000): Promise<boolean> {
    const client = this.#client;
    if (client === undefined || this.#nodeId === 0) return false;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        client.deregister(this.signer, this.#nodeId),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('deregister timed out')), timeoutMs);
        }),
      ]);
      return true;
    } catch (error) {
      this.#options.log.warn('deregister failed', { error: errorMessage(error) });
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops heartbeats, polls and re-registration (after a deregister, and at shutdown). */
  suspend(): void {
    this.#suspended = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#client?.close();
  }
}

function isConnectionFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === 'DIR_CONNECTION' || code === 'DIR_TIMEOUT';
}
