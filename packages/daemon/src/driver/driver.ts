import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  type Address,
  formatAddress,
  type IpcHandshakeRequest,
  type IpcMessage,
  type IpcNetworkRequest,
  PilotError,
} from '@pilot/wire';
import { DatagramStream } from './datagrams.js';
import { DriverErrorCode, driverError } from './errors.js';
import type {
  HandshakeJson,
  HealthJson,
  InfoJson,
  LocalFile,
  PendingHandshake,
  ResolvedHost,
  SentFile,
  TrustedPeer,
} from './info.js';
import { IpcChannel, type IpcMessageOf, type IpcMessageType } from './ipc-channel.js';
import { type IncomingConnection, Listener } from './listener.js';
import { type ConnectionLink, PilotConnection } from './pilot-connection.js';
import { parseTarget } from './target.js';

/**
 * The reference's default socket. Not ours: in /tmp any local user can create it first and pose as
 * the daemon, so our default lives in PILOT_HOME (an owner-only directory); pass this path
 * explicitly to reach a reference daemon that uses it.
 */
export const DEFAULT_SOCKET_PATH = '/tmp/pilot.sock';

/** `$PILOT_HOME` (default ~/.pilot), the daemon's directory. */
export function pilotHomeOf(env: NodeJS.ProcessEnv = process.env): string {
  const home = env.PILOT_HOME;
  return resolve(home !== undefined && home !== '' ? home : join(homedir(), '.pilot'));
}

/** `$PILOT_SOCKET`, else `pilot.sock` in `$PILOT_HOME` (default ~/.pilot). */
export function defaultSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.PILOT_SOCKET;
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : join(pilotHomeOf(env), 'pilot.sock');
}

export interface DriverOptions {
  /** Errors the daemon reported that answer no request (a failed Send, say). Default: ignored. */
  readonly onStrayError?: (error: PilotError) => void;
  /**
   * At most this many IPC connections (default 16). A request that would wait behind another of
   * its kind on every open connection gets a new one; 1 keeps strictly to one connection.
   */
  readonly channels?: number;
}

export interface RequestOptions {
  /** Give up waiting after this long (DRIVER_TIMEOUT); the late reply is then discarded. */
  readonly timeoutMs?: number;
}

type JsonObject = Record<string, unknown>;

/**
 * IPC connections one Driver may spread its requests over by default. The daemon answers each
 * connection's requests FIFO per reply type (the protocol has no request IDs), so a second Dial
 * behind a slow one would wait for it; on a connection of its own it does not.
 */
const DEFAULT_CHANNELS = 16;

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) {
    throw driverError(DriverErrorCode.BAD_ARGUMENT, `port must be an integer in 0..65535, got ${port}`);
  }
}

function checkNode(node: number): void {
  if (!Number.isInteger(node) || node < 0 || node > 0xffff_ffff) {
    throw driverError(
      DriverErrorCode.BAD_ARGUMENT,
      `node ID must be an integer in 0..4294967295, got ${node}`,
    );
  }
}

function parseJson(text: string, what: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw driverError(DriverErrorCode.BAD_REPLY, `the daemon's ${what} reply is not JSON`, error);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw driverError(DriverErrorCode.BAD_REPLY, `the daemon's ${what} reply is not a JSON object`);
  }
  return value as JsonObject;
}

function listOf<T>(document: JsonObject, key: string): T[] {
  const value = document[key];
  return Array.isArray(value) ? (value as T[]) : [];
}

/**
 * The SDK of a Pilot daemon over its IPC socket (spec §7): streams as Node Duplexes, listeners as
 * async iterators of connections, datagrams, and the daemon's control commands. A Driver starts as
 * one IPC connection and opens more (up to 16) only when a request would otherwise wait behind
 * another of the same kind (two Dials in flight, say); the daemon closes every stream and binding
 * of a driver that goes away.
 */
export class Driver {
  readonly socketPath: string;
  /** The first IPC connection: datagrams, and every request nothing holds up there. */
  readonly #primary: IpcChannel;
  readonly #channels: IpcChannel[];
  readonly #opening = new Set<Promise<unknown>>();
  readonly #options: DriverOptions;
  readonly #connections = new Map<number, PilotConnection>();
  readonly #listeners = new Map<number, Listener>();
  readonly #datagramStreams = new Set<DatagramStream>();
  readonly #links = new WeakMap<IpcChannel, ConnectionLink>();
  /** The IPC connection each stream lives on (the daemon knows it as that client's). */
  readonly #channelOf = new WeakMap<PilotConnection, IpcChannel>();
  #closing = false;
  /** Why the driver stopped working (a channel lost), once it did. */
  #down: PilotError | undefined;
  readonly #whenClosed: Promise<void>;
  #resolveClosed: () => void = () => undefined;

  private constructor(socketPath: string, primary: IpcChannel, options: DriverOptions) {
    this.socketPath = socketPath;
    this.#primary = primary;
    this.#channels = [primary];
    this.#options = options;
    this.#whenClosed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  /** How the connections a channel carries reach the daemon. */
  #linkFor(channel: IpcChannel): ConnectionLink {
    let link = this.#links.get(channel);
    if (link === undefined) {
      link = {
        send: (connId, data, flushed) => channel.write({ type: 'send', connId, data }, flushed),
        close: (connId) => {
          if (!channel.closed) channel.write({ type: 'close', connId });
        },
        block: (connection) => channel.block(connection),
        unblock: (connection) => channel.unblock(connection),
        release: (connId) => {
          this.#connections.delete(connId);
        },
      };
      this.#links.set(channel, link);
    }
    return link;
  }

  /**
   * Connects to the daemon at `socketPath` (default `$PILOT_SOCKET`, else `$PILOT_HOME/pilot.sock`).
   * A socket owned by another user (someone squatting the path) is refused before a byte is sent.
   * DRIVER_NOT_RUNNING when nobody listens there.
   */
  static async connect(
    socketPath: string = defaultSocketPath(),
    options: DriverOptions = {},
  ): Promise<Driver> {
    let driver: Driver | undefined;
    let channel: IpcChannel | undefined;
    channel = await IpcChannel.open(socketPath, {
      onMessage: (message) => {
        if (driver !== undefined && channel !== undefined) driver.#onMessage(channel, message);
      },
      onStrayError: (error) => options.onStrayError?.(error),
      onClose: (reason) => {
        if (driver !== undefined) driver.#onChannelClose(reason);
      },
    });
    driver = new Driver(socketPath, channel, options);
    return driver;
  }

  /** One more IPC connection to the same daemon, routed like the first; undefined if it cannot be had. */
  async #openChannel(): Promise<IpcChannel | undefined> {
    let channel: IpcChannel | undefined;
    try {
      channel = await IpcChannel.open(this.socketPath, {
        onMessage: (message) => {
          // Datagrams go to every IPC connection: the primary's copy is the one delivered.
          if (channel !== undefined && message.type !== 'recvFrom') this.#onMessage(channel, message);
        },
        onStrayError: (error) => this.#options.onStrayError?.(error),
        onClose: (reason) => this.#onChannelClose(reason),
      });
    } catch {
      return undefined;
    }
    if (this.#closing || this.#down !== undefined) {
      await channel.close();
      return undefined;
    }
    return channel;
  }

  /**
   * Runs `use` on a channel where nothing waits for an `expect` reply (so this request's reply is
   * not held behind another's), opening one when all are busy and the limit allows.
   */
  #withChannel<R>(expect: IpcMessageType, use: (channel: IpcChannel) => Promise<R>): Promise<R> {
    // CloseOK is matched by connection ID, never FIFO: nothing holds it up.
    if (expect === 'closeOk') return use(this.#primary);
    for (const channel of this.#channels) if (channel.waitingFor(expect) === 0) return use(channel);
    if (this.#channels.length + this.#opening.size < (this.#options.channels ?? DEFAULT_CHANNELS)) {
      const opening = this.#openChannel();
      this.#opening.add(opening);
      return opening.then((channel) => {
        this.#opening.delete(opening);
        if (channel === undefined) return use(this.#leastBusy(expect));
        // Added and used in one turn, so this request is the first on it.
        this.#channels.push(channel);
        return use(channel);
      });
    }
    if (this.#opening.size > 0) {
      return Promise.allSettled([...this.#opening]).then(() => this.#withChannel(expect, use));
    }
    return use(this.#leastBusy(expect));
  }

  #leastBusy(expect: IpcMessageType): IpcChannel {
    let best = this.#primary;
    for (const channel of this.#channels) {
      if (channel.waitingFor(expect) < best.waitingFor(expect)) best = channel;
    }
    return best;
  }

  /** Resolves when the IPC connection ends (close(), or the daemon went away). */
  whenClosed(): Promise<void> {
    return this.#whenClosed;
  }

  /** True once close() was called or the daemon went away. */
  get closed(): boolean {
    return this.#closing || this.#down !== undefined;
  }

  /** An address, a decimal node ID (network 0) or a hostname (asked of the daemon) as an Address. */
  async resolve(target: string | Address): Promise<Address> {
    if (typeof target !== 'string') return target;
    const parsed = parseTarget(target);
    if (parsed.kind === 'address') return parsed.address;
    const host = await this.resolveHostname(parsed.hostname);
    return { network: 0, node: host.node_id };
  }

  /** Opens a stream to `target`'s `port`; the daemon sets up the tunnel first (DialOK or Error). */
  async dial(target: string | Address, port: number, options: RequestOptions = {}): Promise<PilotConnection> {
    checkPort(port);
    const address = await this.resolve(target);
    const remoteAddress = formatAddress(address);
    return this.#ask(
      { type: 'dial', address, port },
      'dialOk',
      (reply, channel) => this.#adopt(channel, reply.connId, remoteAddress, port, undefined),
      options,
      // The caller gave up; the daemon connected anyway: close what nobody will use.
      (reply, channel) => this.#linkFor(channel).close(reply.connId),
    );
  }

  /**
   * Binds `port` (0 lets the daemon pick) and returns its listener at once; `listener.ready` tells
   * the bound port, and a refused Bind makes the iteration reject.
   */
  listen(port: number): Listener {
    checkPort(port);
    const listener = new Listener(port, (closed) => {
      if (this.#listeners.get(closed.port) === closed) this.#listeners.delete(closed.port);
    });
    if (port !== 0) this.#listeners.set(port, listener);
    this.#ask({ type: 'bind', port }, 'bindOk', (reply) => {
      if (listener.closed) return;
      this.#listeners.set(reply.port, listener);
      listener.bound(reply.port);
    }).catch((error: unknown) => {
      listener.failed(
        error instanceof PilotError ? error : driverError(DriverErrorCode.BAD_REPLY, String(error)),
      );
    });
    return listener;
  }

  /** Sends one datagram (no reply; the daemon reports failures as stray errors). */
  async sendTo(target: string | Address, port: number, data: Uint8Array): Promise<void> {
    checkPort(port);
    const address = await this.resolve(target);
    if (this.#down !== undefined) throw this.#down;
    if (!this.#primary.write({ type: 'sendTo', address, port, data })) await this.#primary.drained();
  }

  /** Every datagram the daemon delivers from now on (to every client), or only those to `port`. */
  datagrams(options: { readonly port?: number } = {}): DatagramStream {
    const stream = new DatagramStream(options.port, (closed) => this.#datagramStreams.delete(closed));
    if (this.closed) stream.failed(this.#down ?? this.#closedError());
    else this.#datagramStreams.add(stream);
    return stream;
  }

  /**
   * Asks the daemon to send a local file into `connection` (a data-exchange stream of this driver)
   * as FILE frames itself: the SendFile extension of pilot-ts daemons. Resolves with what it sent
   * (`error` set when it stopped part-way: the connection is reset then), or undefined when the
   * daemon declined before writing anything (an older daemon, another mount namespace, a file it
   * cannot read...): the caller then sends the file through the connection itself.
   */
  async sendFile(connection: PilotConnection, file: LocalFile): Promise<SentFile | undefined> {
    if (!this.#connections.has(connection.connId) || this.#connections.get(connection.connId) !== connection)
      throw driverError(DriverErrorCode.BAD_ARGUMENT, 'not a connection of this driver');
    const channel = this.#channelOf.get(connection) ?? this.#primary;
    try {
      return await this.#askOn(
        channel,
        { type: 'sendFile', connId: connection.connId, json: JSON.stringify(file) },
        // Typed as any reply: a JSON reply's type is the union of every JSON reply type.
        'sendFileOk' as IpcMessageType,
        (reply) => {
          if (!('json' in reply))
            throw driverError(DriverErrorCode.BAD_REPLY, `${reply.type} carries no JSON`);
          const sent = parseJson(reply.json, reply.type);
          const counts = typeof sent.bytes === 'number' && typeof sent.frames === 'number';
          const outcome = typeof sent.sha256 === 'string' || typeof sent.error === 'string';
          if (!counts || !outcome)
            throw driverError(
              DriverErrorCode.BAD_REPLY,
              "the daemon's sendFileOk reply lacks bytes, frames or sha256",
            );
          return sent as unknown as SentFile;
        },
        {},
        undefined,
        undefined,
      );
    } catch (error) {
      if (error instanceof PilotError && error.code.startsWith('DAEMON_')) return undefined;
      throw error;
    }
  }

  /** Closes any connection of the daemon by ID (ours or another client's); resolves on CloseOK. */
  async closeConnection(connId: number, options: RequestOptions = {}): Promise<void> {
    checkNode(connId);
    await this.#ask(
      { type: 'close', connId },
      'closeOk',
      () => undefined,
      options,
      undefined,
      (reply) => reply.type === 'closeOk' && reply.connId === connId,
    );
  }

  async info(options: RequestOptions = {}): Promise<InfoJson> {
    return (await this.#json({ type: 'info' }, 'infoOk', options)) as InfoJson;
  }

  async health(options: RequestOptions = {}): Promise<HealthJson> {
    return (await this.#json({ type: 'health' }, 'healthOk', options)) as HealthJson;
  }

  async resolveHostname(hostname: string, options: RequestOptions = {}): Promise<ResolvedHost> {
    const reply = await this.#json({ type: 'resolveHostname', hostname }, 'resolveHostnameOk', options);
    if (typeof reply.node_id !== 'number') {
      throw driverError(DriverErrorCode.BAD_REPLY, `the daemon's answer for "${hostname}" has no node_id`);
    }
    return reply as ResolvedHost;
  }

  /** An empty name clears the hostname. */
  setHostname(hostname: string, options: RequestOptions = {}): Promise<JsonObject> {
    return this.#json({ type: 'setHostname', hostname }, 'setHostnameOk', options);
  }

  setVisibility(visible: boolean, options: RequestOptions = {}): Promise<JsonObject> {
    return this.#json({ type: 'setVisibility', public: visible }, 'setVisibilityOk', options);
  }

  setTags(tags: readonly string[], options: RequestOptions = {}): Promise<JsonObject> {
    return this.#json({ type: 'setTags', json: JSON.stringify(tags) }, 'setTagsOk', options);
  }

  /** An empty URL clears the webhook. */
  setWebhook(url: string, options: RequestOptions = {}): Promise<JsonObject> {
    return this.#json({ type: 'setWebhook', url }, 'setWebhookOk', options);
  }

  deregister(options: RequestOptions = {}): Promise<JsonObject> {
    return this.#json({ type: 'deregister' }, 'deregisterOk', options);
  }

  network(request: IpcNetworkRequest, options: RequestOptions = {}): Promise<JsonObject> {
    return this.#json({ type: 'network', request }, 'networkOk', options);
  }

  handshake(node: number, justification: string, options: RequestOptions = {}): Promise<HandshakeJson> {
    return this.#handshake({ action: 'send', node, justification }, options);
  }

  approve(node: number, options: RequestOptions = {}): Promise<HandshakeJson> {
    return this.#handshake({ action: 'approve', node }, options);
  }

  reject(node: number, reason: string, options: RequestOptions = {}): Promise<HandshakeJson> {
    return this.#handshake({ action: 'reject', node, reason }, options);
  }

  revoke(node: number, options: RequestOptions = {}): Promise<HandshakeJson> {
    return this.#handshake({ action: 'revoke', node }, options);
  }

  async pending(options: RequestOptions = {}): Promise<PendingHandshake[]> {
    return listOf<PendingHandshake>(await this.#handshake({ action: 'pending' }, options), 'pending');
  }

  async trusted(options: RequestOptions = {}): Promise<TrustedPeer[]> {
    return listOf<TrustedPeer>(await this.#handshake({ action: 'trusted' }, options), 'trusted');
  }

  /** Closes every stream, listener and datagram iterator of this driver, then the IPC socket. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    for (const connection of [...this.#connections.values()]) connection.abandon();
    for (const listener of [...this.#listeners.values()]) await listener.close();
    for (const stream of [...this.#datagramStreams]) stream.close();
    await Promise.allSettled([...this.#opening]);
    await Promise.all(this.#channels.map((channel) => channel.close()));
  }

  #handshake(request: IpcHandshakeRequest, options: RequestOptions): Promise<HandshakeJson> {
    if (request.action !== 'pending' && request.action !== 'trusted') checkNode(request.node);
    return this.#json({ type: 'handshake', request }, 'handshakeOk', options);
  }

  #json(message: IpcMessage, expect: IpcMessageType, options: RequestOptions): Promise<JsonObject> {
    return this.#ask(
      message,
      expect,
      (reply) => {
        if (!('json' in reply)) throw driverError(DriverErrorCode.BAD_REPLY, `${reply.type} carries no JSON`);
        return reply.json.trim() === '' ? {} : parseJson(reply.json, reply.type);
      },
      options,
    );
  }

  /**
   * Sends `message` and resolves with `onReply(reply)`; `onReply` runs synchronously as the reply
   * is read, before any later frame, so state it creates (a connection) sees that connection's data.
   */
  #ask<T extends IpcMessageType, R>(
    message: IpcMessage,
    expect: T,
    onReply: (reply: IpcMessageOf<T>, channel: IpcChannel) => R,
    options: RequestOptions = {},
    onLate?: (reply: IpcMessageOf<T>, channel: IpcChannel) => void,
    matches?: (reply: IpcMessage) => boolean,
  ): Promise<R> {
    if (this.#closing) return Promise.reject(this.#closedError());
    if (this.#down !== undefined) return Promise.reject(this.#down);
    return this.#withChannel(expect, (channel) =>
      this.#askOn(channel, message, expect, onReply, options, onLate, matches),
    );
  }

  #askOn<T extends IpcMessageType, R>(
    channel: IpcChannel,
    message: IpcMessage,
    expect: T,
    onReply: (reply: IpcMessageOf<T>, channel: IpcChannel) => R,
    options: RequestOptions,
    onLate: ((reply: IpcMessageOf<T>, channel: IpcChannel) => void) | undefined,
    matches: ((reply: IpcMessage) => boolean) | undefined,
  ): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      if (this.#closing) {
        reject(this.#closedError());
        return;
      }
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const settle = (reply: IpcMessage | PilotError): void => {
        if (timer !== undefined) clearTimeout(timer);
        if (settled) {
          if (!(reply instanceof PilotError)) onLate?.(reply as IpcMessageOf<T>, channel);
          return;
        }
        settled = true;
        if (reply instanceof PilotError) {
          reject(reply);
          return;
        }
        try {
          resolve(onReply(reply as IpcMessageOf<T>, channel));
        } catch (error) {
          reject(error);
        }
      };
      try {
        channel.request(message, expect, settle, matches);
      } catch (error) {
        settled = true;
        reject(error);
        return;
      }
      const { timeoutMs } = options;
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          if (settled) return;
          settled = true;
          reject(
            driverError(
              DriverErrorCode.TIMEOUT,
              `the daemon did not answer ${message.type} within ${timeoutMs} ms`,
            ),
          );
        }, timeoutMs);
      }
    });
  }

  #adopt(
    channel: IpcChannel,
    connId: number,
    remoteAddress: string,
    remotePort: number,
    localPort: number | undefined,
  ): PilotConnection {
    const info =
      localPort === undefined
        ? { connId, remoteAddress, remotePort }
        : { connId, remoteAddress, remotePort, localPort };
    const connection = new PilotConnection(this.#linkFor(channel), info);
    this.#channelOf.set(connection, channel);
    this.#connections
      .get(connId)
      ?.lost(driverError(DriverErrorCode.BAD_REPLY, `connection ${connId} reused`));
    this.#connections.set(connId, connection);
    return connection;
  }

  #onMessage(channel: IpcChannel, message: IpcMessage): void {
    switch (message.type) {
      case 'accept': {
        const listener = this.#listeners.get(message.localPort);
        const connection = this.#adopt(
          channel,
          message.connId,
          formatAddress(message.remoteAddress),
          message.remotePort,
          message.localPort,
        );
        if (listener === undefined || !listener.offer(connection as IncomingConnection)) connection.destroy();
        return;
      }
      case 'recv':
        this.#connections.get(message.connId)?.deliver(message.data);
        return;
      case 'closeOk':
        this.#connections.get(message.connId)?.remoteClosed();
        return;
      case 'recvFrom': {
        const datagram = {
          source: formatAddress(message.remoteAddress),
          sourcePort: message.remotePort,
          port: message.localPort,
          data: message.data,
        };
        for (const stream of this.#datagramStreams) stream.offer(datagram);
        return;
      }
      default:
        return;
    }
  }

  /** Any IPC connection lost means the daemon is gone (or broke the protocol): the driver is done. */
  #onChannelClose(reason: PilotError): void {
    if (this.#down !== undefined) return;
    this.#down = reason;
    if (!this.#closing) for (const channel of this.#channels) void channel.close();
    const error = this.#closing ? this.#closedError() : reason;
    for (const connection of [...this.#connections.values()]) {
      if (this.#closing) connection.abandon();
      else connection.lost(error);
    }
    this.#connections.clear();
    for (const listener of [...this.#listeners.values()]) listener.failed(error);
    this.#listeners.clear();
    for (const stream of this.#datagramStreams) stream.failed(error);
    this.#datagramStreams.clear();
    this.#resolveClosed();
  }

  #closedError(): PilotError {
    return driverError(DriverErrorCode.DISCONNECTED, 'the driver is closed');
  }
}
