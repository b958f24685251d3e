import { SERVICE_PORTS } from './built-in-services.js';
import type { ConnectionEntry } from './connection-table.js';
import type { DaemonContext } from './daemon-context.js';
import { DaemonErrorCode, daemonError } from './errors.js';
import type { IpcClient } from './ipc-server.js';
import type { ServiceStream } from './services/service-context.js';

/** A built-in service: serves each stream accepted on its port. */
export type ServiceHandler = (served: ServiceStream, entry: ConnectionEntry) => void;

/**
 * Which ports take streams and who gets them: the transport listens on a port while a built-in
 * service serves it or an IPC client has bound it (Bind); a port is released when neither does.
 */
export class PortTable {
  readonly #ctx: DaemonContext;
  /** Ports bound by IPC clients. */
  readonly #bound = new Map<number, IpcClient>();
  /** Ports the transport listens on. */
  readonly #listening = new Set<number>();
  readonly #services = new Map<number, ServiceHandler>();

  constructor(ctx: DaemonContext) {
    this.#ctx = ctx;
  }

  /** The IPC client that bound `port`, if any. */
  owner(port: number): IpcClient | undefined {
    return this.#bound.get(port);
  }

  /** The built-in service on `port`, if any. */
  service(port: number): ServiceHandler | undefined {
    return this.#services.get(port);
  }

  /** Every port that takes streams, sorted (info's ports). */
  inUse(): number[] {
    return [...new Set([...this.#listening, ...this.#bound.keys()])].sort((a, b) => a - b);
  }

  /** Serves `port` with a built-in service. */
  serve(port: number, handler: ServiceHandler): void {
    this.#services.set(port, handler);
    this.#listen(port);
  }

  /** An IPC client's Bind (DAEMON_ALREADY_EXISTS when another client or a service has the port). */
  bind(client: IpcClient, port: number): void {
    if (port === 0) throw daemonError(DaemonErrorCode.INVALID_ARGUMENT, 'cannot bind port 0');
    const owner = this.#bound.get(port);
    if (owner === client) return;
    if (owner !== undefined)
      throw daemonError(DaemonErrorCode.ALREADY_EXISTS, `port ${port} is bound by another client`);
    if (this.#services.has(port) && port !== SERVICE_PORTS.stdio)
      throw daemonError(DaemonErrorCode.ALREADY_EXISTS, `port ${port} is served by the daemon`);
    this.#listen(port);
    this.#bound.set(port, client);
  }

  /** Releases the ports a client bound (it went away). */
  release(client: IpcClient): void {
    for (const [port, owner] of this.#bound) {
      if (owner !== client) continue;
      this.#bound.delete(port);
      this.#unlisten(port);
    }
  }

  #listen(port: number): void {
    if (this.#listening.has(port)) return;
    // Port 444 takes streams from any registered node: a small window (out-of-order bytes
    // included) and few streams per node bound what strangers can make us hold (budgets.ts).
    const budgets = this.#ctx.budgets;
    this.#ctx.transport?.listen(
      port,
      port === SERVICE_PORTS.handshake
        ? {
            receiveWindowSegments: budgets['handshake-window-segments'],
            maxConnectionsPerSource: budgets['handshake-streams-per-peer'],
            maxConnections: budgets['handshake-max-streams'],
          }
        : undefined,
    );
    this.#listening.add(port);
  }

  #unlisten(port: number): void {
    if (!this.#listening.has(port) || this.#services.has(port)) return;
    this.#ctx.transport?.unlisten(port);
    this.#listening.delete(port);
  }
}
