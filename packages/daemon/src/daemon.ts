import { createWriteStream, type WriteStream } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import type { Identity } from '@pilot/crypto';
import { type RegisterOptions, type RegisterResult, toBase64 } from '@pilot/directory/client';
import { type MetricsServer, startMetricsServer } from '@pilot/metrics';
import { connectThroughProxy, parseProxyUrl, type ReflectorServer, type UdpAddress } from '@pilot/nat';
import { connectionStateName, type Datagram } from '@pilot/transport';
import { type PilotStream, UdpTransport } from '@pilot/transport/node';
import {
  DEFAULT_TUNNEL_CAPABILITIES,
  type PeerInfo,
  type TlsRelayOptions,
  TunnelManager,
  type TunnelManagerOptions,
} from '@pilot/tunnel';
import {
  type Address,
  BROADCAST_NODE,
  formatAddress,
  type IpcHandshakeRequest,
  type IpcMessage,
  type IpcNetworkRequest,
  isPilotError,
  TunnelCapability,
  WellKnownPort,
} from '@pilot/wire';
import { startBudgetLog } from './budget-log.js';
import { type DaemonBudgets, resolveDaemonBudgets } from './budgets.js';
import { type ConnectionEntry, ConnectionTable } from './connection-table.js';
import { daemonMetrics } from './daemon-metrics.js';
import { DaemonErrorCode, daemonError, errorMessage, IpcErrorCode, ipcErrorCode } from './errors.js';
import { ExchangeQuota } from './exchange-quota.js';
import { ensurePrivateDir } from './files.js';
import { loadOrCreateIdentity } from './identity-store.js';
import { checkSocketFree, type IpcClient, type IpcHandler, type IpcReply, IpcServer } from './ipc-server.js';
import { KeyPins } from './key-pins.js';
import { createLogger, type Logger } from './logger.js';
import { LookupBudget } from './lookup-budget.js';
import { Mailbox } from './mailbox.js';
import { NegativeCache } from './negative-cache.js';
import { type DaemonOptions, parseReflector, splitHostPort } from './options.js';
import { negotiatedLargeDatagrams, PathMtuPolicy } from './path-mtu-policy.js';
import { RegistrySession } from './registry-session.js';
import { serveDataExchange } from './services/data-exchange.js';
import { serveEcho } from './services/echo.js';
import { EventBroker } from './services/event-stream.js';
import type { ServiceContext, ServiceStream } from './services/service-context.js';
import { serveStdio } from './services/stdio.js';
import { type HandshakeMessage, TrustManager } from './trust.js';
import { TrustStore } from './trust-store.js';
import { loadOrCreateTunnelKey } from './tunnel-key-store.js';
import { DAEMON_VERSION } from './version.js';
import { WebhookSender } from './webhook.js';

/** The Info (0x0E) JSON: the reference keys (reference §9.3) and ours. */
export type InfoJson = Record<string, unknown>;

/** A running daemon (startDaemon). */
export interface Daemon {
  readonly nodeId: number;
  /** The node's address as text, `0:0000.HHHH.LLLL`. */
  readonly address: string;
  readonly socket: string;
  readonly home: string;
  /** The bound UDP endpoint of the tunnel socket. */
  readonly udpAddress: { readonly host: string; readonly port: number };
  /** Where `GET /metrics` is served (`--metrics`), as `host:port`; undefined when off. */
  readonly metrics: string | undefined;
  info(): InfoJson;
  close(): Promise<void>;
}

const SERVICE_PORTS = {
  echo: WellKnownPort.ECHO,
  stdio: WellKnownPort.STDIO,
  dataexchange: WellKnownPort.DATA_EXCHANGE,
  eventstream: WellKnownPort.EVENT_STREAM,
  handshake: WellKnownPort.HANDSHAKE,
} as const;

const DEFAULT_DIAL_TIMEOUT = 20_000;
const HANDSHAKE_SEND_TIMEOUT = 8_000;

/** A UDP host and port (the transport's spelling; @pilot/nat's UdpAddress says `address`). */
interface HostPort {
  readonly host: string;
  readonly port: number;
}

function parseEndpoint(text: string | null | undefined): UdpAddress | undefined {
  if (text === null || text === undefined || text === '') return undefined;
  try {
    const { host, port } = splitHostPort(text, 'endpoint');
    return { address: host, port };
  } catch {
    return undefined;
  }
}

/**
 * The two servers the tunnel manager classifies our NAT against (easy/hard mapping, which decides the
 * birthday-probing role): the beacon and the first `--reflector`, or the first two reflectors without
 * a beacon. Undefined when fewer than two are known (no classification: easy + hard pairs relay).
 */
function classificationServers(
  beacon: HostPort | undefined,
  reflectors: readonly string[],
): readonly [ReflectorServer, ReflectorServer] | undefined {
  const servers: ReflectorServer[] = reflectors.map((text) => {
    const { protocol, host, port } = parseReflector(text);
    return { protocol, address: host, port };
  });
  if (beacon !== undefined && servers.length > 0)
    servers.unshift({ protocol: 'beacon', address: beacon.host, port: beacon.port });
  const [first, second] = servers;
  return first === undefined || second === undefined ? undefined : [first, second];
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(daemonError(DaemonErrorCode.TIMEOUT, `${what} timed out after ${ms} ms`)),
        ms,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

function lanAddresses(port: number): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const item of list ?? []) {
      if (item.internal || item.family !== 'IPv4') continue;
      out.push(`${item.address}:${port}`);
    }
  }
  return out.slice(0, 8);
}

/**
 * Starts a daemon: identity, UDP transport with the tunnel manager, registration, built-in services
 * and the IPC socket. Resolves once registered and serving IPC; rejects with a PilotError
 * (DAEMON_SOCKET_IN_USE, DAEMON_REGISTRY_UNAVAILABLE, DAEMON_BAD_OPTION, DAEMON_BAD_IDENTITY).
 */
export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const daemon = new PilotDaemon(options);
  try {
    await daemon.start();
  } catch (error) {
    await daemon.close();
    throw error;
  }
  return daemon;
}

class PilotDaemon implements Daemon, IpcHandler {
  readonly options: DaemonOptions;
  readonly home: string;
  readonly socket: string;
  readonly log: Logger;
  readonly #logFile: WriteStream | undefined;
  readonly #startedAt = Date.now();
  #identity: Identity | undefined;
  #identityPath: string;
  #transport: UdpTransport<TunnelManager> | undefined;
  #tunnel: TunnelManager | undefined;
  /** Larger datagrams towards pilot-ts peers that negotiated them (RFC 8899 probing). */
  #pathMtu: PathMtuPolicy | undefined;
  #session: RegistrySession | undefined;
  #keyPins: KeyPins | undefined;
  #trust: TrustManager | undefined;
  #trustStore: TrustStore | undefined;
  #ipc: IpcServer | undefined;
  #metrics: MetricsServer | undefined;
  #mailbox: Mailbox | undefined;
  #broker: EventBroker | undefined;
  readonly #webhook: WebhookSender;
  readonly #connections = new ConnectionTable();
  /** Ports bound by IPC clients. */
  readonly #bound = new Map<number, IpcClient>();
  /** Ports the transport listens on. */
  readonly #listening = new Set<number>();
  readonly #lingering = new Set<NodeJS.Timeout>();
  readonly #resolved = new Map<
    number,
    { at: number; promise: Promise<{ realAddr: string | null; lanAddrs: string[] }> }
  >();
  readonly #services = new Map<number, (served: ServiceStream, entry: ConnectionEntry) => void>();
  #nodeId = 0;
  #address = '';
  #hostname: string | undefined;
  #public: boolean;
  #tags: string[] = [];
  #endpoint: HostPort | undefined;
  #closing: Promise<void> | undefined;
  #sweeper: NodeJS.Timeout | undefined;
  #networkTimer: NodeJS.Timeout | undefined;
  #stopBudgetLog: (() => void) | undefined;
  /** Non-backbone networks this node belongs to, and their members (they may reach us, reference §5.1). */
  #networks: number[] = [];
  #networkPeers = new Set<number>();
  #networksAt = 0;
  readonly #budgets: DaemonBudgets;
  /** The rendezvous' second reflector port, as the registry advertised it (`reflector_port`). */
  #reflectorPort: number | undefined;
  /** The rendezvous' TLS relay port, as the registry advertised it (`wss_port`). */
  #wssPort: number | undefined;
  /** Where the TLS relay is (`--wss`, or the registry's host and `wss_port`), for `info`. */
  #wssAddress = '';
  #lookups: LookupBudget | undefined;
  #unknownNodes: NegativeCache | undefined;
  #exchangeQuota: ExchangeQuota | undefined;
  #exchangeFilesRefused = 0;
  readonly #stats = {
    bytesSent: 0,
    bytesRecv: 0,
    dials: 0,
    dialFailures: 0,
    accepted: 0,
    datagramsSent: 0,
    datagramsRecv: 0,
  };

  constructor(options: DaemonOptions) {
    this.#budgets = resolveDaemonBudgets(options.budgets);
    this.options = options;
    this.home = options.home;
    this.socket = options.socket;
    this.#identityPath = options.identity ?? join(options.home, 'identity.json');
    this.#hostname = options.hostname;
    this.#public = options.public === true;
    let write: ((line: string) => void) | undefined;
    if (options.logFile !== undefined) {
      ensurePrivateDir(join(options.logFile, '..'));
      this.#logFile = createWriteStream(options.logFile, { flags: 'a', mode: 0o600 });
      const file = this.#logFile;
      write = (line) => file.write(line);
    }
    this.log = createLogger(options.logLevel ?? 'info', options.logFormat ?? 'text', write);
    this.#webhook = new WebhookSender(undefined, this.log);
  }

  get nodeId(): number {
    return this.#nodeId;
  }
  get address(): string {
    return this.#address;
  }
  get udpAddress(): HostPort {
    return this.#tunnel?.socket === undefined ? { host: '', port: 0 } : this.#tunnel.udpAddress;
  }
  get metrics(): string | undefined {
    return this.#metrics?.address;
  }

  #emit(event: string, data: Record<string, unknown> = {}): void {
    this.#webhook.emit(event, this.#nodeId, data);
  }

  async start(): Promise<void> {
    const o = this.options;
    if (o.webhook !== undefined && o.webhook !== '') this.#webhook.setUrl(o.webhook);
    ensurePrivateDir(this.home, true);
    await checkSocketFree(this.socket);
    const { identity, created } = loadOrCreateIdentity(this.#identityPath);
    this.#identity = identity;
    if (created) this.log.info('created a new identity', { path: this.#identityPath });
    this.#mailbox = new Mailbox(this.home);
    this.#trustStore = new TrustStore(join(this.home, 'trust.json'));
    const keyPins = new KeyPins(this.#trustStore, this.log, (event, data) => this.#emit(event, data));
    this.#keyPins = keyPins;
    // `--registry a,b`: instances of one network (a shared database), the first preferred.
    const [registry, ...fallbacks] = o.registry.split(',').map((entry) => splitHostPort(entry, '--registry'));
    if (registry === undefined) throw daemonError(DaemonErrorCode.BAD_OPTION, '--registry is empty');
    // `--beacon a,b`: the beacons of one network, the next used when one stops answering.
    const [beacon, ...fallbackBeacons] =
      o.beacon === undefined || o.beacon === ''
        ? []
        : o.beacon.split(',').map((entry) => splitHostPort(entry, '--beacon'));
    const reflectors = classificationServers(beacon, o.reflectors ?? []);
    if (reflectors === undefined && (o.reflectors?.length ?? 0) > 0)
      this.log.warn('one --reflector without --beacon cannot classify the NAT: give two');
    const listen = splitHostPort(o.listen ?? '0.0.0.0:0', '--listen', '0.0.0.0');
    const fixedEndpoint =
      o.endpoint === undefined || o.endpoint === '' ? undefined : splitHostPort(o.endpoint, '--endpoint');

    const session = new RegistrySession({
      host: registry.host,
      port: registry.port,
      fallbacks,
      identity,
      ...(o.registryTls === undefined ? {} : { tls: o.registryTls }),
      ...(o.registryFingerprint === undefined ? {} : { fingerprint: o.registryFingerprint }),
      knownRegistries: join(this.home, 'known_registries.json'),
      // --proxy / HTTPS_PROXY: where only an HTTP proxy gets out, the registry is reached through it too.
      ...(o.proxy === undefined || o.proxy === ''
        ? {}
        : {
            dial: (host: string, port: number) =>
              connectThroughProxy(parseProxyUrl(o.proxy as string), host, port),
          }),
      registration: () => this.#registration(),
      heartbeatMs: o.heartbeat ?? 60_000,
      pollMs: o.handshakePoll ?? 5_000,
      log: this.log,
      onRegistered: (result, again) => this.#onRegistered(result, again),
      onPoll: async (reply) => this.#trust?.onPoll(reply),
      maxBackgroundRequests: this.#budgets['lookup-queue'],
    });
    this.#session = session;

    const lookups = new LookupBudget({
      perSecond: this.#budgets['lookup-rate'],
      burst: this.#budgets['lookup-burst'],
      maxInFlight: this.#budgets['lookup-in-flight'],
      perSourcePerSecond: this.#budgets['lookup-per-source-rate'],
      perSourceBurst: this.#budgets['lookup-per-source-burst'],
    });
    this.#lookups = lookups;
    const unknownNodes = new NegativeCache({ ttlMs: this.#budgets['lookup-negative-ttl-ms'] });
    this.#unknownNodes = unknownNodes;
    // What the registry's lookups said of each peer's tunnel (our registry's tunnel-capabilities):
    // whether a PILA to it may carry our PILX. Bounded like the tunnel's key cache.
    const peerCapabilities = new Map<number, readonly string[]>();
    const tunnelKey =
      o.tunnelKeyFile === undefined ? undefined : loadOrCreateTunnelKey(resolvePath(o.tunnelKeyFile)).key;
    const tunnel = new TunnelManager({
      identity,
      ...(tunnelKey === undefined ? {} : { x25519: tunnelKey }),
      forwardSecrecy: o.forwardSecrecy !== false,
      // Larger datagrams between pilot-ts peers (path MTU probed, path-mtu-policy.ts): advertised
      // unless turned off, so the policy below finds the capability negotiated.
      capabilities: [
        ...DEFAULT_TUNNEL_CAPABILITIES,
        ...(o.largeDatagrams !== false ? [TunnelCapability.LARGE_DATAGRAMS] : []),
      ],
      rekey: {
        ...(o.rekeyAfter === undefined ? {} : { ms: o.rekeyAfter }),
        ...(o.rekeyBytes === undefined ? {} : { bytes: o.rekeyBytes }),
      },
      directory: {
        capabilities: (nodeId) => peerCapabilities.get(nodeId),
        // `cause`: the PILA that made the tunnel ask, and where it came from; none when we dial.
        publicKey: async (nodeId, cause) => {
          const pinned = keyPins.pinned(nodeId) !== undefined;
          const stranger = cause !== undefined && !pinned;
          try {
            // Lookups that PILAs cause are within a budget per source and in all (lookup-budget.ts);
            // strangers' wait in the registry client's background lane, behind heartbeats and every
            // request of our own, and a node the registry did not know is not asked again for a while.
            if (stranger && unknownNodes.has(nodeId)) return undefined;
            const info =
              cause === undefined
                ? await session.call((client) => client.lookup(nodeId))
                : await lookups.run(
                    () =>
                      session.call((client) =>
                        client.lookup(nodeId, { lane: stranger ? 'background' : 'own' }),
                      ),
                    cause.source,
                    pinned,
                  );
            peerCapabilities.delete(nodeId);
            if (info.tunnelCapabilities !== undefined) peerCapabilities.set(nodeId, info.tunnelCapabilities);
            if (peerCapabilities.size > 4096)
              peerCapabilities.delete(peerCapabilities.keys().next().value ?? 0);
            // A trusted peer's PILA is checked against its pinned key, whatever the registry says.
            return new Uint8Array(Buffer.from(keyPins.check(nodeId, info, 'lookup'), 'base64'));
          } catch (error) {
            if (isPilotError(error, 'DIR_NOT_FOUND')) {
              if (stranger) unknownNodes.add(nodeId);
              return undefined;
            }
            throw error;
          }
        },
        // Birthday intents (the registry's `birthday` extension): ours towards a peer (its IPs come
        // back), or who intends to reach us (asked because of unauthenticated punch commands: within
        // the lookup budget). A registry without the extension: no birthday probing.
        birthday: async (nodeId) => {
          try {
            // Who intends to reach us is asked because of a stranger's command: background lane.
            const lane = nodeId === undefined ? 'background' : 'own';
            const ask = () =>
              session.call((client) => client.birthday(session.signer, this.#nodeId, nodeId, { lane }));
            const reply = nodeId === undefined ? await lookups.run(ask) : await ask();
            return nodeId === undefined ? reply.peers.flatMap((peer) => peer.ips) : reply.ips;
          } catch (error) {
            if (isPilotError(error, 'DIR_UNSUPPORTED')) return [];
            throw error;
          }
        },
        resolve: async (nodeId) => {
          const where = await this.#resolve(nodeId);
          const endpoint = parseEndpoint(where.realAddr);
          const lanAddrs = where.lanAddrs.map(parseEndpoint).filter((a): a is UdpAddress => a !== undefined);
          return { ...(endpoint === undefined ? {} : { endpoint }), lanAddrs };
        },
      },
      ...(beacon === undefined ? {} : { beacon: { address: beacon.host, port: beacon.port } }),
      ...(fallbackBeacons.length === 0
        ? {}
        : { fallbackBeacons: fallbackBeacons.map((b) => ({ address: b.host, port: b.port })) }),
      ...(reflectors === undefined ? {} : { reflectors }),
      ...this.#tlsRelayOptions(session),
      punchBudget: {
        maxAttempts: this.#budgets['punch-attempts'],
        unsolicitedPerIpPerSecond: this.#budgets['punch-unsolicited-per-ip'],
        unsolicitedPerIpBurst: this.#budgets['punch-unsolicited-burst'],
        unsolicitedPerSecond: this.#budgets['punch-unsolicited-rate'],
        maxBirthdays: this.#budgets['birthday-concurrent'],
        birthdayPerIpMs: this.#budgets['birthday-per-ip-ms'],
      },
      encrypt: o.encrypt !== false,
      log: (level, message, fields) => this.log.log(level, message, fields),
      onEvent: (event) => {
        const { type, ...data } = event;
        this.#emit(type, data);
        this.#pathMtu?.onTunnelEvent(event);
      },
    });
    this.#tunnel = tunnel;

    await tunnel.bind({ host: listen.host, port: listen.port });
    const transport = await UdpTransport.create({
      link: tunnel,
      localAddress: { network: 0, node: 0 },
      admit: (source, port, kind) => this.#admit(source, port, kind),
      ...(o.keepalive === undefined ? {} : { keepaliveInterval: o.keepalive }),
      ...(o.idleTimeout === undefined ? {} : { idleTimeout: o.idleTimeout }),
      ...(o.timeWait === undefined ? {} : { timeWait: o.timeWait }),
      ...(o.synRateLimit === undefined ? {} : { synRatePerSource: o.synRateLimit }),
      ...(o.maxConnsPerPort === undefined ? {} : { maxConnectionsPerPort: o.maxConnsPerPort }),
      ...(o.maxConnsTotal === undefined ? {} : { maxConnections: o.maxConnsTotal }),
      maxReceiveBytesPerPeer: this.#budgets['peer-receive-bytes'],
    });
    this.#transport = transport;
    this.#pathMtu = new PathMtuPolicy(
      {
        negotiated: (node) => negotiatedLargeDatagrams(tunnel, node),
        directEndpoint: (node) => {
          const peer = tunnel.peer(node);
          return peer === undefined || peer.relay || peer.path !== 'direct' ? undefined : peer.endpoint;
        },
      },
      transport,
      o.largeDatagrams !== false,
    );
    transport.on('connection', (stream: PilotStream) => this.#onStream(stream));
    transport.on('datagram', (datagram: Datagram) => this.#onDatagram(datagram));
    this.#endpoint = fixedEndpoint;

    this.#trust = new TrustManager({
      identity,
      store: this.#trustStore,
      keyPins,
      session,
      log: this.log,
      autoApprove: o.trustAutoApprove === true,
      nodeId: () => this.#nodeId,
      sendDirect: (node, message) => this.#sendHandshake(node, message),
      onRevoked: (node) => this.#dropPeer(node),
      emit: (event, data) => this.#emit(event, data),
    });

    await session.start();
    // No --reflector: the rendezvous' second reflector, when its registry advertised one
    // (reflector_port), beside the beacon: the NAT is classified without flags.
    if (reflectors === undefined && beacon !== undefined && this.#reflectorPort !== undefined) {
      tunnel.setReflectors([
        { protocol: 'beacon', address: beacon.host, port: beacon.port },
        { protocol: 'stun', address: beacon.host, port: this.#reflectorPort },
      ]);
    }
    this.#useAdvertisedTlsRelay(session, tunnel);
    tunnel.start(this.#nodeId);
    if (fixedEndpoint === undefined && beacon !== undefined) {
      try {
        const found = await withTimeout(tunnel.discover(), 5000, 'endpoint discovery');
        if (found !== undefined) {
          this.#endpoint = { host: found.address, port: found.port };
          this.log.info('discovered the public endpoint', { endpoint: `${found.address}:${found.port}` });
          await session.call((client) => client.register(session.signer, this.#registration()));
        }
      } catch (error) {
        this.log.warn('endpoint discovery failed; announcing the bound address', {
          error: errorMessage(error),
        });
      }
    }

    const context: ServiceContext = {
      log: this.log,
      mailbox: this.#mailbox,
      emit: (event, data) => this.#emit(event, data),
    };
    this.#broker = new EventBroker(context);
    const broker = this.#broker;
    const trust = this.#trust;
    this.#services.set(SERVICE_PORTS.handshake, (served, entry) => trust.serve(served, entry.remote.node));
    if (o.noEcho !== true) this.#services.set(SERVICE_PORTS.echo, (served) => serveEcho(served));
    if (o.noStdio !== true) this.#services.set(SERVICE_PORTS.stdio, (served) => serveStdio(served, context));
    const quota = new ExchangeQuota({
      filesPerPeer: this.#budgets['exchange-files-per-peer'],
      bytesPerPeer: this.#budgets['exchange-bytes-per-peer'],
      windowMs: this.#budgets['exchange-window-ms'],
    });
    this.#exchangeQuota = quota;
    if (o.noDataexchange !== true)
      this.#services.set(SERVICE_PORTS.dataexchange, (served, entry) =>
        serveDataExchange(served, context, {
          node: entry.remote.node,
          quota,
          filesPerStream: this.#budgets['exchange-files-per-stream'],
          onTooManyFiles: () => this.#exchangeFilesRefused++,
        }),
      );
    if (o.noEventstream !== true)
      this.#services.set(SERVICE_PORTS.eventstream, (served) => broker.serve(served));
    for (const port of this.#services.keys()) this.#listen(port);

    const idle = o.idleTimeout ?? 120_000;
    if (idle > 0) {
      this.#sweeper = setInterval(() => this.#sweep(), Math.min(Math.max(250, idle / 4), 15_000));
      this.#sweeper.unref();
    }
    await this.#refreshNetworks();
    this.#networkTimer = setInterval(() => void this.#refreshNetworks(), 60_000);
    this.#networkTimer.unref();
    this.#stopBudgetLog = startBudgetLog(this.log, this.#budgets['log-interval-ms'], () =>
      this.#budgetRefusals(),
    );
    this.#ipc = await IpcServer.listen(this.socket, this, this.log);
    if (o.metrics !== undefined) {
      // Opt-in, loopback unless a host is named: the figures are this node's alone.
      const { host, port } = splitHostPort(o.metrics, '--metrics');
      this.#metrics = await startMetricsServer({ registry: daemonMetrics(() => this.info()), host, port });
    }
    this.log.info('daemon ready', {
      address: this.#address,
      node_id: this.#nodeId,
      udp: `${tunnel.udpAddress.host}:${tunnel.udpAddress.port}`,
      socket: this.socket,
      encrypt: o.encrypt !== false,
    });
    this.#emit('node.registered', { address: this.#address });
  }

  #registration(): RegisterOptions {
    const bound = this.#tunnel?.socket === undefined ? { host: '0.0.0.0', port: 0 } : this.#tunnel.udpAddress;
    const announced = this.#endpoint ?? bound;
    const host = announced.host.includes(':') ? `[${announced.host}]` : announced.host;
    const unspecified = bound.host === '0.0.0.0' || bound.host === '::';
    return {
      listenAddr: `${host}:${announced.port}`,
      ...(this.#hostname === undefined || this.#hostname === '' ? {} : { hostname: this.#hostname }),
      ...(this.options.owner === undefined ? {} : { owner: this.options.owner }),
      ...(unspecified ? { lanAddrs: lanAddresses(bound.port) } : {}),
      version: DAEMON_VERSION,
      // Sent only to a registry advertising tunnel-capabilities (ours), under the register signature.
      ...(this.#tunnel === undefined || this.options.encrypt === false
        ? {}
        : { tunnelCapabilities: this.#tunnel.advertisedCapabilities }),
    };
  }

  async #onRegistered(result: RegisterResult, again: boolean): Promise<void> {
    const session = this.#session;
    if (session === undefined) return;
    this.#reflectorPort = result.reflectorPort;
    this.#wssPort = result.wssPort;
    const changed = result.nodeId !== this.#nodeId;
    this.#nodeId = result.nodeId;
    this.#address = result.address;
    if (changed) {
      this.#transport?.endpoint.setLocalAddress({ network: 0, node: result.nodeId });
      if (again) this.#tunnel?.setNodeId(result.nodeId);
    }
    if (result.hostnameError !== undefined) {
      this.log.warn('hostname refused by the registry', {
        hostname: this.#hostname,
        error: result.hostnameError,
      });
      this.#hostname = result.hostname;
    }
    if (this.#public) {
      try {
        await session.client.setVisibility(session.signer, result.nodeId, true);
      } catch (error) {
        this.log.warn('set_visibility failed', { error: errorMessage(error) });
      }
    }
    if (again) {
      if (this.#tags.length > 0) {
        try {
          await session.client.setTags(session.signer, result.nodeId, this.#tags);
        } catch (error) {
          this.log.warn('set_tags failed', { error: errorMessage(error) });
        }
      }
      await this.#trust?.reportAll();
      void this.#refreshNetworks();
      this.#emit('node.reregistered', { address: this.#address });
    } else {
      this.log.info('registered', { node_id: result.nodeId, address: result.address });
    }
  }

  // ---- trust gate and peers ----

  #admit(source: Address, port: number, kind: 'stream' | 'datagram'): boolean {
    if (this.#public) return true;
    // The handshake port must be reachable by strangers: that is how they ask for trust.
    if (port === SERVICE_PORTS.handshake && kind === 'stream') return true;
    if (this.#trust?.isTrusted(source.node) === true) return true;
    if (this.#networkPeers.has(source.node)) return true;
    // Someone may have joined one of our networks since the last refresh: look again (the peer
    // retransmits its SYN), at most once a second.
    if (this.#networks.length > 0 && Date.now() - this.#networksAt > 1000) {
      this.#networksAt = Date.now();
      void this.#refreshNetworks();
    }
    this.#emit(kind === 'stream' ? 'syn.rejected' : 'datagram.rejected', {
      from: formatAddress(source),
      port,
    });
    return false;
  }

  /** Members of a network, private ones included (we sign as a member). */
  async #listMembers(network: number): Promise<number[]> {
    const session = this.#requireSession();
    const ids: number[] = [];
    let offset = 0;
    for (let page = 0; page < 50; page++) {
      const reply = await session.call((client) =>
        client.listNodesAs(session.signer, this.#nodeId, network, offset),
      );
      const nodes = Array.isArray(reply.nodes) ? (reply.nodes as Record<string, unknown>[]) : [];
      for (const node of nodes) {
        if (typeof node.node_id !== 'number') continue;
        // An entry naming another key for a trusted peer is someone else's word: not admitted.
        if (
          typeof node.public_key === 'string' &&
          this.#keyPins?.pinned(node.node_id) !== undefined &&
          this.#keyPins.check(node.node_id, { publicKey: node.public_key }, 'list_nodes') !== node.public_key
        )
          continue;
        ids.push(node.node_id);
      }
      if (typeof reply.next_offset !== 'number') break;
      offset = reply.next_offset;
    }
    return ids;
  }

  /** Refreshes which networks we are in and who shares them (the trust gate admits them). */
  async #refreshNetworks(): Promise<void> {
    const session = this.#session;
    if (session === undefined || this.#nodeId === 0) return;
    try {
      const self = await session.call((client) => client.lookup(this.#nodeId));
      const networks = self.networks.filter((n) => n !== 0);
      const peers = new Set<number>();
      for (const network of networks) for (const id of await this.#listMembers(network)) peers.add(id);
      peers.delete(this.#nodeId);
      this.#networks = networks;
      this.#networkPeers = peers;
      this.#networksAt = Date.now();
    } catch (error) {
      this.log.debug('network refresh failed', { error: errorMessage(error) });
    }
  }

  /** The registry's resolve, shared for a moment between the daemon's privacy check and the tunnel. */
  #resolve(node: number): Promise<{ realAddr: string | null; lanAddrs: string[] }> {
    const cached = this.#resolved.get(node);
    if (cached !== undefined && Date.now() - cached.at < 3000) return cached.promise;
    const session = this.#requireSession();
    const promise = session.call((client) => client.resolve(session.signer, this.#nodeId, node));
    this.#resolved.set(node, { at: Date.now(), promise });
    if (this.#resolved.size > 1024) this.#resolved.delete(this.#resolved.keys().next().value as number);
    promise.catch(() => this.#resolved.delete(node));
    return promise;
  }

  /**
   * Sets up the tunnel to `node`. Without one yet, the registry must let us resolve the node first:
   * a private node that does not trust us is refused here (DAEMON_NOT_TRUSTED), not probed through
   * the beacon.
   */
  async #ensureTunnel(node: number, timeoutMs: number): Promise<void> {
    const tunnel = this.#tunnel;
    if (tunnel === undefined) throw daemonError(DaemonErrorCode.CLOSED, 'the daemon is shutting down');
    if (tunnel.peer(node)?.authenticated !== true) {
      try {
        await this.#resolve(node);
      } catch (error) {
        if (isPilotError(error, 'DIR_RESOLVE_DENIED'))
          throw daemonError(
            DaemonErrorCode.NOT_TRUSTED,
            `node ${node} is private and does not trust this node`,
            error,
          );
        if (isPilotError(error, 'DIR_NOT_FOUND'))
          throw daemonError(DaemonErrorCode.NOT_FOUND, `node ${node} is not registered`, error);
        throw error;
      }
    }
    await withTimeout(tunnel.ensureTunnel(node, { timeoutMs }), timeoutMs, 'tunnel setup');
  }

  #dropPeer(node: number): void {
    for (const entry of this.#connections.values()) if (entry.remote.node === node) entry.stream.destroy();
    this.#tunnel?.forget(node);
    this.#pathMtu?.forget(node);
  }

  async #sendHandshake(node: number, message: HandshakeMessage): Promise<void> {
    const stream = await this.#dial({ network: 0, node }, SERVICE_PORTS.handshake, HANDSHAKE_SEND_TIMEOUT);
    // Done when the peer has read the message and closed its side too (the receiver closes after
    // one message): a revoke forgets the tunnel right after, which would strand unsent bytes.
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        stream.on('error', reject);
        stream.once('close', () => resolve());
        stream.resume();
        stream.end(JSON.stringify(message));
      }),
      HANDSHAKE_SEND_TIMEOUT,
      'handshake delivery',
    ).catch((error: unknown) => {
      stream.destroy();
      throw error;
    });
  }

  /** Ensures the tunnel, then opens a stream (DAEMON_* / TRANSPORT_* / DIR_* errors). */
  async #dial(address: Address, port: number, timeoutMs: number): Promise<PilotStream> {
    const tunnel = this.#tunnel;
    const transport = this.#transport;
    if (tunnel === undefined || transport === undefined || this.#closing !== undefined)
      throw daemonError(DaemonErrorCode.CLOSED, 'the daemon is shutting down');
    if (address.node === this.#nodeId)
      throw daemonError(DaemonErrorCode.INVALID_ARGUMENT, 'cannot dial this node itself');
    if (address.node === BROADCAST_NODE || address.node === 0)
      throw daemonError(
        DaemonErrorCode.INVALID_ARGUMENT,
        `cannot open a stream to ${formatAddress(address)}`,
      );
    if (port === 0) throw daemonError(DaemonErrorCode.INVALID_ARGUMENT, 'port 0 takes no streams');
    const started = Date.now();
    await this.#ensureTunnel(address.node, timeoutMs);
    const left = Math.max(1000, timeoutMs - (Date.now() - started));
    this.#pathMtu?.update(address.node);
    return withTimeout(transport.connect(address, port), left, 'connect');
  }

  // ---- streams ----

  #listen(port: number): void {
    if (this.#listening.has(port)) return;
    // Port 444 takes streams from any registered node: a small window (out-of-order bytes
    // included) and few streams per node bound what strangers can make us hold (budgets.ts).
    const budgets = this.#budgets;
    this.#transport?.listen(
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
    this.#transport?.unlisten(port);
    this.#listening.delete(port);
  }

  #onStream(stream: PilotStream): void {
    const port = stream.localPort;
    const remote = stream.remoteAddress;
    const owner = this.#bound.get(port);
    this.#stats.accepted++;
    this.#pathMtu?.update(remote.node);
    this.#emit('conn.established', { from: formatAddress(remote), port, remote_port: stream.remotePort });
    if (owner !== undefined) {
      const entry = this.#connections.add({
        stream,
        owner,
        service: undefined,
        localPort: port,
        remote,
        remotePort: stream.remotePort,
      });
      owner.send({
        type: 'accept',
        localPort: port,
        connId: entry.id,
        remoteAddress: remote,
        remotePort: stream.remotePort,
      });
      this.#pipe(entry, owner);
      return;
    }
    const service = this.#services.get(port);
    if (service === undefined) {
      stream.destroy();
      return;
    }
    const name = (Object.entries(SERVICE_PORTS).find(([, p]) => p === port)?.[0] ?? 'service') as string;
    const entry = this.#connections.add({
      stream,
      owner: undefined,
      service: name,
      localPort: port,
      remote,
      remotePort: stream.remotePort,
    });
    stream.on('data', (chunk: Uint8Array) => {
      entry.bytesRecv += chunk.length;
    });
    stream.on('error', (error) =>
      this.log.debug('service stream error', { service: name, error: error.message }),
    );
    stream.on('close', () => this.#connections.remove(entry.id));
    try {
      service(
        { stream, remote: formatAddress(remote), remotePort: stream.remotePort, localPort: port },
        entry,
      );
    } catch (error) {
      this.log.error('service failed', { service: name, error: errorMessage(error) });
      stream.destroy();
    }
  }

  /** Connects a stream to its IPC owner: Recv for data, CloseOK when the peer closes, back-pressure both ways. */
  #pipe(entry: ConnectionEntry, client: IpcClient): void {
    const { stream } = entry;
    stream.on('data', (chunk: Uint8Array) => {
      entry.bytesRecv += chunk.length;
      this.#stats.bytesRecv += chunk.length;
      if (!client.send({ type: 'recv', connId: entry.id, data: chunk })) {
        stream.pause();
        client.drained(() => stream.resume());
      }
    });
    const notify = (): void => {
      if (entry.closeNotified) return;
      entry.closeNotified = true;
      client.send({ type: 'closeOk', connId: entry.id });
    };
    stream.on('end', () => {
      notify();
      // The reference closes both directions when the peer's FIN arrives.
      stream.end();
    });
    stream.on('error', (error: Error) => {
      const code = (error as { code?: string }).code ?? '';
      const event =
        code === 'TRANSPORT_IDLE_TIMEOUT'
          ? 'conn.idle_timeout'
          : code === 'TRANSPORT_PEER_DEAD'
            ? 'conn.dead_peer'
            : 'conn.rst';
      this.#emit(event, { conn_id: entry.id, peer: formatAddress(entry.remote), error: error.message });
      this.log.debug('connection ended with an error', { conn_id: entry.id, error: errorMessage(error) });
      notify();
    });
    stream.on('close', () => {
      notify();
      this.#connections.remove(entry.id);
      this.#emit('conn.fin', { conn_id: entry.id, peer: formatAddress(entry.remote) });
    });
  }

  #onDatagram(datagram: Datagram): void {
    this.#stats.datagramsRecv++;
    if (datagram.payload.length === 0) return;
    const message: IpcMessage = {
      type: 'recvFrom',
      remoteAddress: datagram.peer,
      remotePort: datagram.srcPort,
      localPort: datagram.dstPort,
      data: datagram.payload,
    };
    for (const client of this.#ipc?.clients ?? []) client.send(message);
    this.#emit('data.datagram', {
      from: formatAddress(datagram.peer),
      port: datagram.dstPort,
      bytes: datagram.payload.length,
    });
  }

  // ---- IPC ----

  message(client: IpcClient, message: IpcMessage): void {
    switch (message.type) {
      case 'send':
        this.#onSend(client, message.connId, message.data);
        return;
      case 'close': {
        const { connId } = message;
        client.respond('close', () => Promise.resolve(this.#onClose(client, connId)));
        return;
      }
      case 'sendTo':
        this.#onSendTo(client, message.address, message.port, message.data);
        return;
      default:
        // Concurrently with the client's other requests: the answer leaves in the order drivers need.
        client.respond(message.type, async () => {
          try {
            const reply = await this.#request(client, message);
            return 'type' in reply ? { message: reply } : reply;
          } catch (error) {
            if (!isPilotError(error))
              this.log.error('IPC request failed', { type: message.type, error: errorMessage(error) });
            return { message: { type: 'error', code: ipcErrorCode(error), message: errorMessage(error) } };
          }
        });
    }
  }

  closed(client: IpcClient): void {
    for (const entry of this.#connections.ownedBy(client)) {
      entry.closeNotified = true;
      this.#connections.remove(entry.id);
      entry.stream.end();
      this.#linger(entry.stream, 5000);
    }
    for (const [port, owner] of this.#bound) {
      if (owner !== client) continue;
      this.#bound.delete(port);
      this.#unlisten(port);
    }
  }

  /**
   * Dead-peer cleanup beyond the transport's own: a connection with data in flight to a peer whose
   * tunnel has been silent for the idle timeout is reset (retransmission back-off alone would take
   * about a minute to give up on a peer killed mid-stream).
   */
  #sweep(): void {
    const idle = this.options.idleTimeout ?? 120_000;
    const tunnel = this.#tunnel;
    if (idle <= 0 || tunnel === undefined) return;
    for (const entry of this.#connections.values()) {
      if (entry.stream.destroyed || entry.stream.connection.pendingBytes === 0) continue;
      const peer = tunnel.peer(entry.remote.node);
      if (peer === undefined || peer.last_seen_ms < idle) continue;
      this.log.info('peer silent with data in flight: closing the connection', {
        conn_id: entry.id,
        peer: formatAddress(entry.remote),
        silent_ms: peer.last_seen_ms,
      });
      this.#emit('conn.dead_peer', { conn_id: entry.id, peer: formatAddress(entry.remote) });
      entry.stream.destroy(
        daemonError(DaemonErrorCode.CONNECTION_FAILED, 'peer silent for the idle timeout'),
      );
    }
  }

  /** A stream we closed gets `ms` to finish its close with the peer; then it is destroyed. */
  #linger(stream: PilotStream, ms: number): void {
    if (stream.destroyed) return;
    const timer = setTimeout(() => {
      this.#lingering.delete(timer);
      stream.destroy();
    }, ms);
    timer.unref();
    this.#lingering.add(timer);
    stream.once('close', () => {
      clearTimeout(timer);
      this.#lingering.delete(timer);
    });
  }

  #onSend(client: IpcClient, connId: number, data: Uint8Array): void {
    const entry = this.#connections.get(connId);
    if (entry === undefined || entry.owner === undefined) {
      client.error(IpcErrorCode.INVALID_ARGUMENT, `no connection ${connId}`);
      return;
    }
    const { stream } = entry;
    if (stream.writableEnded || stream.destroyed) {
      client.error(IpcErrorCode.CONNECTION_FAILED, `connection ${connId} is closed`);
      return;
    }
    entry.bytesSent += data.length;
    this.#stats.bytesSent += data.length;
    // The data is a view of the IPC read buffer: copy, the stream may hold it past this turn.
    if (!stream.write(Buffer.from(data))) {
      client.pause();
      let resumed = false;
      const resume = (): void => {
        if (resumed) return;
        resumed = true;
        stream.off('drain', resume);
        stream.off('close', resume);
        client.resume();
      };
      stream.once('drain', resume);
      stream.once('close', resume);
    }
  }

  #onClose(client: IpcClient, connId: number): IpcReply {
    const entry = this.#connections.get(connId);
    if (entry === undefined) {
      if (this.#connections.wasRecent(connId)) return { message: { type: 'closeOk', connId } };
      return { message: { type: 'error', code: IpcErrorCode.NOT_FOUND, message: `no connection ${connId}` } };
    }
    entry.closeNotified = true;
    this.#connections.remove(connId);
    if (entry.owner === undefined || entry.owner !== client) {
      // Closing someone else's connection (pilotctl disconnect): tell its owner too.
      entry.owner?.send({ type: 'closeOk', connId });
    }
    entry.stream.end();
    this.#linger(entry.stream, 10_000);
    return { message: { type: 'closeOk', connId } };
  }

  #onSendTo(client: IpcClient, address: Address, port: number, data: Uint8Array): void {
    const transport = this.#transport;
    const tunnel = this.#tunnel;
    if (transport === undefined || tunnel === undefined) return;
    const copy = new Uint8Array(data);
    const send = (node: number): void => {
      try {
        transport.sendDatagram({ network: address.network, node }, port, copy);
        this.#stats.datagramsSent++;
      } catch (error) {
        client.error(ipcErrorCode(error), errorMessage(error));
      }
    };
    if (address.node === BROADCAST_NODE) {
      void this.#broadcast(client, address, port, copy);
      return;
    }
    if (address.node === this.#nodeId || address.node === 0) {
      client.error(IpcErrorCode.INVALID_ARGUMENT, `cannot send a datagram to ${formatAddress(address)}`);
      return;
    }
    if (tunnel.peer(address.node)?.authenticated === true && tunnel.reaches(address.node)) {
      send(address.node);
      return;
    }
    this.#ensureTunnel(address.node, this.options.dialTimeout ?? DEFAULT_DIAL_TIMEOUT).then(
      () => send(address.node),
      (error: unknown) => client.error(ipcErrorCode(error), errorMessage(error)),
    );
  }

  async #broadcast(client: IpcClient, address: Address, port: number, data: Uint8Array): Promise<void> {
    if (address.network === 0) {
      client.error(IpcErrorCode.INVALID_ARGUMENT, 'broadcast is not allowed on network 0');
      return;
    }
    try {
      if (!this.#networks.includes(address.network)) await this.#refreshNetworks();
      if (!this.#networks.includes(address.network)) {
        client.error(IpcErrorCode.NOT_TRUSTED, `this node is not a member of network ${address.network}`);
        return;
      }
      const ids = await this.#listMembers(address.network);
      for (const id of ids) {
        if (id === this.#nodeId) continue;
        this.#onSendTo(client, { network: address.network, node: id }, port, data);
      }
    } catch (error) {
      client.error(ipcErrorCode(error), errorMessage(error));
    }
  }

  #requireSession(): RegistrySession {
    if (this.#session === undefined) throw daemonError(DaemonErrorCode.CLOSED, 'the daemon is not running');
    return this.#session;
  }

  /** The reply to a request, or undefined when the handler sent it itself. */
  async #request(client: IpcClient, message: IpcMessage): Promise<IpcMessage | IpcReply> {
    const session = this.#requireSession();
    const json = (type: IpcMessage['type'], value: unknown): IpcMessage =>
      ({ type, json: JSON.stringify(value) }) as IpcMessage;
    switch (message.type) {
      case 'bind':
        return this.#bind(client, message.port);
      case 'dial':
        return this.#onDial(client, message.address, message.port);
      case 'info':
        return json('infoOk', this.info());
      case 'health':
        return json('healthOk', this.#health());
      case 'handshake':
        return json('handshakeOk', await this.#handshake(message.request));
      case 'resolveHostname': {
        const found = await session.call((c) => c.resolveHostname(message.hostname, this.#nodeId));
        return json('resolveHostnameOk', {
          node_id: found.nodeId,
          address: found.address,
          hostname: message.hostname,
          public: found.public,
        });
      }
      case 'setHostname': {
        await session.call((c) => c.setHostname(session.signer, this.#nodeId, message.hostname));
        this.#hostname = message.hostname === '' ? undefined : message.hostname;
        return json('setHostnameOk', { node_id: this.#nodeId, hostname: message.hostname });
      }
      case 'setVisibility': {
        await session.call((c) => c.setVisibility(session.signer, this.#nodeId, message.public));
        this.#public = message.public;
        return json('setVisibilityOk', { node_id: this.#nodeId, public: message.public });
      }
      case 'setTags': {
        let tags: unknown;
        try {
          tags = JSON.parse(message.json);
        } catch {
          throw daemonError(DaemonErrorCode.INVALID_ARGUMENT, 'tags must be a JSON array of strings');
        }
        if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string'))
          throw daemonError(DaemonErrorCode.INVALID_ARGUMENT, 'tags must be a JSON array of strings');
        const saved = await session.call((c) => c.setTags(session.signer, this.#nodeId, tags as string[]));
        this.#tags = saved;
        return json('setTagsOk', { node_id: this.#nodeId, tags: saved });
      }
      case 'setWebhook': {
        this.#webhook.setUrl(message.url);
        return json('setWebhookOk', { webhook: this.#webhook.url });
      }
      case 'deregister': {
        session.suspend();
        await session.call((c) => c.deregister(session.signer, this.#nodeId));
        this.#emit('node.deregistered', {});
        return json('deregisterOk', { status: 'deregistered', node_id: this.#nodeId });
      }
      case 'network':
        return json('networkOk', await this.#network(message.request));
      case 'setTaskExec':
      case 'managed':
        throw daemonError(
          DaemonErrorCode.INVALID_ARGUMENT,
          `${message.type} is not supported by this daemon`,
        );
      default:
        throw daemonError(DaemonErrorCode.INVALID_ARGUMENT, `${message.type} is not a request`);
    }
  }

  #bind(client: IpcClient, port: number): IpcMessage {
    if (port === 0) throw daemonError(DaemonErrorCode.INVALID_ARGUMENT, 'cannot bind port 0');
    const owner = this.#bound.get(port);
    if (owner === client) return { type: 'bindOk', port };
    if (owner !== undefined)
      throw daemonError(DaemonErrorCode.ALREADY_EXISTS, `port ${port} is bound by another client`);
    if (this.#services.has(port) && port !== SERVICE_PORTS.stdio)
      throw daemonError(DaemonErrorCode.ALREADY_EXISTS, `port ${port} is served by the daemon`);
    this.#listen(port);
    this.#bound.set(port, client);
    return { type: 'bindOk', port };
  }

  async #onDial(client: IpcClient, address: Address, port: number): Promise<IpcReply> {
    this.#stats.dials++;
    let stream: PilotStream;
    try {
      stream = await this.#dial(address, port, this.options.dialTimeout ?? DEFAULT_DIAL_TIMEOUT);
    } catch (error) {
      this.#stats.dialFailures++;
      throw error;
    }
    if (client.closed) {
      stream.destroy();
      throw daemonError(DaemonErrorCode.CLOSED, 'client went away');
    }
    const entry = this.#connections.add({
      stream,
      owner: client,
      service: undefined,
      localPort: stream.localPort,
      remote: address,
      remotePort: port,
    });
    // Until the DialOK leaves (it may wait for an earlier Dial's reply), the stream keeps its data;
    // a failure meanwhile must not go unheard.
    const early = (error: Error): void =>
      this.log.debug('dialed stream failed before its DialOK', { conn_id: entry.id, error: error.message });
    stream.on('error', early);
    return {
      // DialOK before the first Recv: the driver must know the ID before data for it arrives.
      message: { type: 'dialOk', connId: entry.id },
      sent: () => {
        stream.off('error', early);
        if (stream.destroyed) {
          // Gone while its DialOK was held: say so, as the piping would have.
          if (!entry.closeNotified) {
            entry.closeNotified = true;
            client.send({ type: 'closeOk', connId: entry.id });
          }
          this.#connections.remove(entry.id);
          return;
        }
        this.#pipe(entry, client);
      },
    };
  }

  async #handshake(request: IpcHandshakeRequest): Promise<unknown> {
    const trust = this.#trust;
    if (trust === undefined) throw daemonError(DaemonErrorCode.CLOSED, 'the daemon is not running');
    switch (request.action) {
      case 'send':
        return trust.request(request.node, request.justification);
      case 'approve':
        return trust.approve(request.node);
      case 'reject':
        return trust.reject(request.node, request.reason);
      case 'pending':
        return trust.pendingJson();
      case 'trusted':
        return trust.trustedJson();
      case 'revoke':
        return trust.revoke(request.node);
    }
  }

  async #network(request: IpcNetworkRequest): Promise<unknown> {
    const session = this.#requireSession();
    switch (request.action) {
      case 'list':
        return session.call((c) => c.listNetworks());
      case 'members':
        return session.call((c) => c.listNodes(request.network));
      case 'join': {
        const address = await session.call((c) =>
          c.joinNetwork(
            session.signer,
            this.#nodeId,
            request.network,
            request.token === '' ? {} : { token: request.token },
          ),
        );
        await this.#refreshNetworks();
        return { network_id: request.network, address };
      }
      case 'leave':
        await session.call((c) => c.leaveNetwork(session.signer, this.#nodeId, request.network));
        await this.#refreshNetworks();
        return { network_id: request.network, status: 'left' };
      case 'invite':
        await session.call((c) =>
          c.inviteToNetwork(session.signer, this.#nodeId, request.network, request.node),
        );
        return { network_id: request.network, node_id: request.node, status: 'invited' };
      default:
        throw daemonError(
          DaemonErrorCode.INVALID_ARGUMENT,
          `network ${request.action} is not supported by this daemon`,
        );
    }
  }

  // ---- Info ----

  #health(): Record<string, unknown> {
    const peers = this.#tunnel?.peers() ?? [];
    return {
      status: this.#session?.healthy === false ? 'degraded' : 'ok',
      uptime_seconds: Math.floor((Date.now() - this.#startedAt) / 1000),
      connections: this.#connections.size,
      peers: peers.length,
      bytes_sent: peers.reduce((sum, p) => sum + p.bytes_sent, 0),
      bytes_recv: peers.reduce((sum, p) => sum + p.bytes_recv, 0),
      registry: this.#session?.healthy === false ? 'unreachable' : 'ok',
    };
  }

  /** What the budgets refused since the start (info's budgets.refused, and the budget log). */
  #budgetRefusals(): Record<string, number> {
    const counters = this.#transport?.endpoint.counters;
    const q = this.#session?.queue;
    return {
      handshake_streams_per_peer: counters?.synPerSourceRefused ?? 0,
      streams_over_port_or_total: counters?.synRefused ?? 0,
      syn_rate_limited: counters?.synRateLimited ?? 0,
      not_admitted: counters?.notAdmitted ?? 0,
      receive_buffer_full: counters?.receiveBufferFull ?? 0,
      peer_receive_bytes: counters?.peerReceiveBudgetFull ?? 0,
      pila_throttled: this.#tunnel?.stats.pila_throttled ?? 0,
      registry_lookups: this.#lookups?.refused ?? 0,
      registry_lookups_per_source: this.#lookups?.refusals.perSource ?? 0,
      registry_lookups_queue: (q?.backgroundRefused ?? 0) + (q?.backgroundExpired ?? 0),
      unknown_node_cached: this.#unknownNodes?.hits ?? 0,
      exchange_files_per_stream: this.#exchangeFilesRefused,
      exchange_files_per_peer: this.#exchangeQuota?.refusals.files ?? 0,
      exchange_bytes_per_peer: this.#exchangeQuota?.refusals.bytes ?? 0,
      punch_unsolicited: this.#tunnel?.stats.punch_unsolicited_refused ?? 0,
      punch_attempts: this.#tunnel?.stats.punch_attempts_refused ?? 0,
      birthday_unvouched: this.#tunnel?.stats.birthday_refused_unvouched ?? 0,
      birthday_busy: this.#tunnel?.stats.birthday_refused_busy ?? 0,
    };
  }

  /**
   * `--wss` / `--transport` / `--proxy`: the tunnel's relay over TLS. Its certificate is the
   * registry's (the same rendezvous), so it is pinned to the registry's fingerprint, given or
   * remembered; a registry reached in plaintext gives no pin, and the relay is then refused.
   */
  #tlsRelayOptions(session: RegistrySession): Pick<TunnelManagerOptions, 'tlsRelay' | 'transportMode'> {
    const o = this.options;
    if (o.transport === 'udp') return {};
    if (o.wss === undefined || o.wss === '') return { transportMode: o.transport ?? 'auto' };
    const { host, port } = splitHostPort(o.wss, '--wss');
    this.#wssAddress = o.wss;
    return { transportMode: o.transport ?? 'auto', tlsRelay: this.#tlsRelay(session, host, port) };
  }

  /**
   * `auto` without `--wss`: the relay the registry advertised (`wss_port`) on the registry's host. It
   * serves the registry's certificate, so it is used only when the registry is reached over TLS (a
   * fingerprint to pin it to); a plaintext registry gives no pin and no TLS relay.
   */
  #useAdvertisedTlsRelay(session: RegistrySession, tunnel: TunnelManager): void {
    const o = this.options;
    const port = this.#wssPort;
    if ((o.wss !== undefined && o.wss !== '') || o.transport === 'udp' || port === undefined) return;
    if ((o.registryFingerprint ?? session.link?.fingerprint ?? '') === '') {
      this.log.debug('the registry advertises a TLS relay, but is reached in plaintext: not used');
      return;
    }
    const host = session.host;
    this.#wssAddress = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    tunnel.setTlsRelay(this.#tlsRelay(session, host, port));
    this.log.info('TLS relay advertised by the registry', { wss: this.#wssAddress });
  }

  /** The TLS relay at `host:port`, pinned to the registry's fingerprint (given or remembered). */
  #tlsRelay(session: RegistrySession, host: string, port: number): TlsRelayOptions {
    const o = this.options;
    const proxy = o.proxy === undefined || o.proxy === '' ? undefined : parseProxyUrl(o.proxy);
    return {
      host,
      port,
      ...(proxy === undefined ? {} : { proxy }),
      tls: {
        verify: (fingerprint) => {
          const pin = (o.registryFingerprint ?? session.link?.fingerprint)?.replace(/:/g, '').toLowerCase();
          if (pin === undefined || pin === '')
            throw daemonError(
              DaemonErrorCode.BAD_OPTION,
              'the TLS relay is pinned to the registry certificate: reach the registry over TLS',
            );
          if (fingerprint !== pin)
            throw daemonError(
              DaemonErrorCode.BAD_OPTION,
              `the TLS relay's certificate ${fingerprint} is not the registry's ${pin}`,
            );
        },
      },
    };
  }

  info(): InfoJson {
    const peers: PeerInfo[] = this.#tunnel?.peers() ?? [];
    const counters = this.#transport?.endpoint.counters;
    const trustStore = this.#trustStore;
    const connList = this.#connections.values().map((entry) => {
      const connection = entry.stream.connection;
      const stats = connection.stats();
      return {
        id: entry.id,
        local_port: entry.localPort,
        remote_addr: formatAddress(entry.remote),
        remote_port: entry.remotePort,
        state: connectionStateName(connection.state),
        service: entry.service ?? '',
        owner: entry.owner === undefined ? 'daemon' : `ipc:${entry.owner.id}`,
        cong_win: stats.cwnd,
        in_flight: stats.inFlight,
        srtt_ms: stats.srtt === undefined ? 0 : Math.round(stats.srtt * 100) / 100,
        rto_ms: Math.round(stats.rto),
        unacked: connection.pendingBytes,
        peer_recv_win: stats.peerWindow,
        bytes_sent: entry.bytesSent,
        bytes_recv: entry.bytesRecv,
        age_secs: Math.floor((Date.now() - entry.openedAt) / 1000),
      };
    });
    const endpoint = this.#endpoint;
    const udp = this.#tunnel?.socket === undefined ? undefined : this.#tunnel.udpAddress;
    return {
      node_id: this.#nodeId,
      address: this.#address,
      hostname: this.#hostname ?? '',
      uptime_secs: Math.floor((Date.now() - this.#startedAt) / 1000),
      connections: this.#connections.size,
      ports: [...new Set([...this.#listening, ...this.#bound.keys()])].sort((a, b) => a - b),
      peers: peers.length,
      encrypted_peers: peers.filter((p) => p.encrypted).length,
      authenticated_peers: peers.filter((p) => p.authenticated).length,
      encrypt: this.options.encrypt !== false,
      identity: this.#identityPath,
      public_key: this.#identity === undefined ? '' : toBase64(this.#identity.publicKey),
      bytes_sent: peers.reduce((sum, p) => sum + p.bytes_sent, 0),
      bytes_recv: peers.reduce((sum, p) => sum + p.bytes_recv, 0),
      pkts_sent: counters?.packetsSent ?? 0,
      pkts_recv: counters?.packetsReceived ?? 0,
      handshake_pending_count: trustStore?.pending.size ?? 0,
      handshake_refused: this.#trust?.rejectedMessages ?? 0,
      version: DAEMON_VERSION,
      networks: [0, ...this.#networks].map((network) => ({
        network_id: network,
        address: formatAddress({ network, node: this.#nodeId }),
      })),
      network_peers: this.#networkPeers.size,
      // path_mtu: the datagram size the transport uses towards the peer now (tunnel frame included);
      // above the spec's only towards pilot-ts peers that negotiated large-datagrams.
      peer_list: peers.map((peer) => ({
        ...peer,
        path_mtu: this.#transport?.endpoint.pathMtu({ network: 0, node: peer.node_id }),
      })),
      conn_list: connList,
      pid: process.pid,
      home: this.home,
      socket: this.socket,
      registry: this.options.registry,
      registry_ok: this.#session?.healthy === true,
      registry_active: this.#session?.endpoint ?? '',
      keys_refused: this.#keyPins?.refused ?? 0,
      registry_tls: this.#session?.link?.mode === 'tls',
      registry_fingerprint: this.#session?.link?.fingerprint ?? '',
      registry_pin: this.#session?.link?.pinSource ?? '',
      registrations: this.#session?.registrations ?? 0,
      // Heartbeat timing and the registry connection's queues: floods of strangers must not move these.
      registry_session: { ...this.#session?.heartbeatStats, queue: this.#session?.queue },
      beacon: this.options.beacon ?? '',
      public: this.#public,
      tags: this.#tags,
      endpoint: endpoint === undefined ? '' : `${endpoint.host}:${endpoint.port}`,
      nat_mapping: this.#tunnel?.natMapping ?? '',
      udp_listen: udp === undefined ? '' : `${udp.host}:${udp.port}`,
      trusted: trustStore?.trusted.size ?? 0,
      pending: trustStore?.pending.size ?? 0,
      relay_peers: peers.filter((p) => p.relay).length,
      relay_tls_peers: peers.filter((p) => p.path === 'relay-tls').length,
      transport_mode: this.#tunnel?.tlsRelay.mode ?? 'udp',
      tls_relay: { address: this.#wssAddress, ...(this.#tunnel?.tlsRelay ?? {}) },
      retransmits: counters?.retransmits ?? 0,
      app_bytes_sent: this.#stats.bytesSent,
      app_bytes_recv: this.#stats.bytesRecv,
      dials: this.#stats.dials,
      dial_failures: this.#stats.dialFailures,
      accepted: this.#stats.accepted,
      datagrams_sent: this.#stats.datagramsSent,
      datagrams_recv: this.#stats.datagramsRecv,
      ipc_clients: this.#ipc?.clients.size ?? 0,
      ipc_garbage: this.#ipc?.garbage ?? 0,
      webhook: this.#webhook.url,
      budgets: {
        limits: { ...this.#budgets },
        // What the budgets refused since the start (each a drop; everyone else was still served).
        refused: this.#budgetRefusals(),
      },
      transport: counters === undefined ? {} : { ...counters },
      tunnel: this.#tunnel === undefined ? {} : { ...this.#tunnel.stats },
      mailbox: { messages: this.#mailbox?.messages ?? 0, files: this.#mailbox?.files ?? 0 },
      eventstream: {
        subscribers: this.#broker?.subscriberCount ?? 0,
        published: this.#broker?.published ?? 0,
      },
    };
  }

  // ---- shutdown ----

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    this.log.info('shutting down');
    clearInterval(this.#sweeper);
    clearInterval(this.#networkTimer);
    this.#stopBudgetLog?.();
    this.#session?.suspend();
    await this.#ipc?.close().catch(() => {});
    await this.#metrics?.close();
    this.#broker?.close();
    // FIN to every connection, then up to 2 s for the FINs (and their answers) to travel.
    const open = this.#connections.values();
    for (const entry of open) entry.stream.end();
    if (open.length > 0) {
      const deadline = Date.now() + 2000;
      while (Date.now() < deadline && open.some((entry) => !entry.stream.destroyed)) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    if (this.#session !== undefined && this.#nodeId !== 0) {
      if (await this.#session.deregister(3000)) this.log.info('deregistered');
    }
    this.#session?.close();
    for (const timer of this.#lingering) clearTimeout(timer);
    this.#lingering.clear();
    this.#trust?.close();
    this.#webhook.close();
    // The transport first: its RSTs for connections still open must be sealed by a live tunnel.
    await this.#transport?.close().catch(() => {});
    await this.#tunnel?.close().catch(() => {});
    this.log.info('stopped');
    if (this.#logFile !== undefined) {
      const file = this.#logFile;
      await new Promise<void>((resolve) => file.end(() => resolve()));
    }
  }
}
