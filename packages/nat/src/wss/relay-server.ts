import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  BEACON_MAX_RELAY_FRAME,
  type BeaconMessage,
  decodeBeaconMessage,
  encodeBeaconMessage,
  isPilotError,
  normalizeIp,
} from '@pilot/wire';
import type { Beacon } from '../beacon/server.js';
import { wsAcceptKey } from './http-head.js';
import {
  checkRelayHello,
  decodeRelayHello,
  encodeRelayChallenge,
  RELAY_NONCE_SIZE,
  RELAY_WELCOME,
} from './relay-hello.js';
import { WsConnection } from './ws-connection.js';

/** Largest WebSocket message on the relay: a relay message (9-byte header) around the largest frame. */
export const TLS_RELAY_MAX_MESSAGE: number = 9 + BEACON_MAX_RELAY_FRAME;

export interface TlsRelayServerOptions {
  readonly host?: string;
  /** 0 picks one. */
  readonly port: number;
  /** PEM key and certificate (the registry's: nodes pin the same fingerprint). */
  readonly tls: { readonly key: string; readonly cert: string };
  /** The beacon whose relay this extends: budgets, UDP delivery, peer beacons. */
  readonly beacon: Beacon;
  /** The registry's Ed25519 key of a node: a hello must be signed by it. */
  readonly nodeKey: (node: number) => Uint8Array | undefined;
  /** HTTP path of the WebSocket. Default `/pilot/relay`. */
  readonly path?: string;
  /** Open connections overall (TLS handshakes included). Default 10 000. */
  readonly maxConnections?: number;
  /** Open connections per source IP. Default 16. */
  readonly maxConnectionsPerIp?: number;
  /** From TCP accept to an accepted hello. Default 10 s. */
  readonly helloTimeoutMs?: number;
  /** Ping after this much silence, close after twice it. Default 30 s. */
  readonly idleMs?: number;
  /** Bytes queued to one node before frames to it are dropped. Default 1 MiB. */
  readonly maxQueuedBytes?: number;
}

export interface TlsRelayStats {
  connections: number;
  authenticated: number;
  accepted: number;
  /** Over the per-IP or overall connection budget. */
  refusedConnections: number;
  /** Bad upgrade requests, hellos that did not verify or came late. */
  refusedHandshakes: number;
  /** Messages after the hello that were not `relay` from the connection's own node. */
  droppedBadMessages: number;
  /** Connections replaced by a newer one of the same node. */
  replaced: number;
}

interface Client {
  readonly ip: string;
  readonly ws: WsConnection;
  node: number | undefined;
}

/**
 * The rendezvous' relay over WebSocket-over-TLS (`pilot-rendezvous --wss-addr`): nodes that cannot
 * use UDP connect here, prove their node (relay-hello.ts), and exchange beacon `relay` /
 * `relayDeliver` messages with the beacon's relay, which forwards to the destination's TLS
 * connection, UDP endpoint or peer beacon. Frames stay PILS-sealed end to end: the relay sees node
 * IDs and sizes, as the UDP relay does.
 */
export class TlsRelayServer {
  readonly #server: Server;
  readonly #options: TlsRelayServerOptions;
  readonly #clients = new Set<Client>();
  readonly #byNode = new Map<number, Client>();
  readonly #perIp = new Map<string, number>();
  readonly #sockets = new Set<Socket>();
  /** Hello deadlines of connections not yet authenticated, by `ip:port` (the TCP and TLS sockets differ). */
  readonly #helloTimers = new Map<string, NodeJS.Timeout>();
  readonly #stats: TlsRelayStats = {
    connections: 0,
    authenticated: 0,
    accepted: 0,
    refusedConnections: 0,
    refusedHandshakes: 0,
    droppedBadMessages: 0,
    replaced: 0,
  };
  #closed: Promise<void> | undefined;

  private constructor(server: Server, options: TlsRelayServerOptions) {
    this.#server = server;
    this.#options = options;
  }

  static async start(options: TlsRelayServerOptions): Promise<TlsRelayServer> {
    const server = createServer({
      key: options.tls.key,
      cert: options.tls.cert,
      handshakeTimeout: options.helloTimeoutMs ?? 10_000,
    });
    const relay = new TlsRelayServer(server, options);
    relay.#run();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host ?? '0.0.0.0', () => {
        server.off('error', reject);
        resolve();
      });
    });
    options.beacon.setTlsSink((node) => relay.#sink(node));
    return relay;
  }

  /** The bound address. */
  address(): { host: string; port: number } {
    const bound = this.#server.address();
    if (bound === null || typeof bound === 'string') return { host: '', port: 0 };
    return { host: bound.address, port: bound.port };
  }

  stats(): TlsRelayStats {
    return { ...this.#stats, connections: this.#sockets.size, authenticated: this.#byNode.size };
  }

  /** Closes every connection and the listener; safe to call twice. */
  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      this.#options.beacon.setTlsSink(undefined);
      for (const client of this.#clients) client.ws.destroy('relay closing');
      for (const socket of this.#sockets) socket.destroy();
      this.#server.close(() => resolve());
    });
    return this.#closed;
  }

  #run(): void {
    const maxConnections = this.#options.maxConnections ?? 10_000;
    const maxPerIp = this.#options.maxConnectionsPerIp ?? 16;
    const helloTimeout = this.#options.helloTimeoutMs ?? 10_000;
    this.#server.headersTimeout = helloTimeout;
    this.#server.requestTimeout = helloTimeout;
    this.#server.on('connection', (socket: Socket) => {
      const ip = normalizeIp(socket.remoteAddress ?? '');
      const count = this.#perIp.get(ip) ?? 0;
      if (this.#sockets.size >= maxConnections || count >= maxPerIp) {
        this.#stats.refusedConnections++;
        socket.destroy();
        return;
      }
      this.#perIp.set(ip, count + 1);
      this.#sockets.add(socket);
      // Tunnel frames are datagrams: each goes out at once (Nagle would hold ACKs back for 40 ms).
      socket.setNoDelay(true);
      // Every connection must have proven its node within the hello timeout.
      const id = `${socket.remoteAddress}:${socket.remotePort}`;
      const timer = setTimeout(() => {
        this.#helloTimers.delete(id);
        this.#stats.refusedHandshakes++;
        socket.destroy();
      }, helloTimeout);
      this.#helloTimers.set(id, timer);
      socket.once('close', () => {
        clearTimeout(timer);
        if (this.#helloTimers.get(id) === timer) this.#helloTimers.delete(id);
        this.#sockets.delete(socket);
        const left = (this.#perIp.get(ip) ?? 1) - 1;
        if (left <= 0) this.#perIp.delete(ip);
        else this.#perIp.set(ip, left);
      });
    });
    this.#server.on('tlsClientError', (_error, socket) => socket.destroy());
    this.#server.on('request', (_request, response) => {
      response.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket', connection: 'close' });
      response.end('pilot relay: WebSocket only\n');
    });
    this.#server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.#upgrade(request, socket, head),
    );
  }

  #upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = this.#options.path ?? '/pilot/relay';
    const key = request.headers['sec-websocket-key'];
    const upgrade = request.headers.upgrade?.toLowerCase();
    const connection = (request.headers.connection ?? '').toLowerCase();
    const ok =
      request.method === 'GET' &&
      (request.url ?? '').split('?')[0] === path &&
      upgrade === 'websocket' &&
      connection.split(',').some((token: string) => token.trim() === 'upgrade') &&
      request.headers['sec-websocket-version'] === '13' &&
      typeof key === 'string' &&
      Buffer.from(key, 'base64').length === 16;
    if (!ok) {
      this.#stats.refusedHandshakes++;
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${wsAcceptKey(key as string)}\r\n\r\n`,
    );
    const ip = normalizeIp((socket as Socket).remoteAddress ?? '');
    const ws = new WsConnection(socket as Duplex & { writableLength: number }, {
      role: 'server',
      maxMessage: TLS_RELAY_MAX_MESSAGE,
      maxQueuedBytes: this.#options.maxQueuedBytes ?? 1 << 20,
      idleMs: this.#options.idleMs ?? 30_000,
      head,
    });
    const client: Client = { ip, ws, node: undefined };
    this.#clients.add(client);
    const nonce = randomBytes(RELAY_NONCE_SIZE);
    ws.onMessage = (data) => this.#message(client, nonce, socket as Socket, data);
    ws.onClose = () => {
      this.#clients.delete(client);
      if (client.node !== undefined && this.#byNode.get(client.node) === client)
        this.#byNode.delete(client.node);
    };
    ws.send(encodeRelayChallenge(nonce));
  }

  #message(client: Client, nonce: Uint8Array, socket: Socket, data: Uint8Array): void {
    if (client.node === undefined) {
      const hello = decodeRelayHello(data);
      const key = hello === undefined ? undefined : this.#options.nodeKey(hello.node);
      if (hello === undefined || key === undefined || !checkRelayHello(hello, nonce, key)) {
        this.#stats.refusedHandshakes++;
        client.ws.close(4001, 'hello refused');
        return;
      }
      client.node = hello.node;
      const id = `${socket.remoteAddress}:${socket.remotePort}`;
      clearTimeout(this.#helloTimers.get(id));
      this.#helloTimers.delete(id);
      const previous = this.#byNode.get(hello.node);
      if (previous !== undefined) {
        this.#stats.replaced++;
        previous.node = undefined;
        previous.ws.close(4002, 'replaced by a newer connection');
      }
      this.#byNode.set(hello.node, client);
      this.#stats.accepted++;
      client.ws.send(RELAY_WELCOME);
      return;
    }
    let message: BeaconMessage;
    try {
      message = decodeBeaconMessage(data);
    } catch (error) {
      if (!isPilotError(error)) throw error;
      this.#stats.droppedBadMessages++;
      return;
    }
    if (message.type !== 'relay' || message.source !== client.node) {
      this.#stats.droppedBadMessages++;
      return;
    }
    this.#options.beacon.relayFromTls(message, data, client.ip);
  }

  #sink(node: number): ((source: number, frame: Uint8Array) => boolean) | undefined {
    const client = this.#byNode.get(node);
    if (client === undefined) return undefined;
    return (source, frame) => client.ws.send(encodeBeaconMessage({ type: 'relayDeliver', source, frame }));
  }
}
