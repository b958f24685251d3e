import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { type MetricsServer, startMetricsServer } from '@pilot/metrics';
import type { UdpAddress } from '@pilot/wire';
import { startBudgetLog } from './budget-log.js';
import { resolveDaemonBudgets } from './budgets.js';
import { startBuiltInServices } from './built-in-services.js';
import { DaemonContext } from './daemon-context.js';
import { daemonMetrics } from './daemon-metrics.js';
import { startDeadPeerSweep } from './dead-peer-sweep.js';
import { ensurePrivateDir } from './files.js';
import { loadOrCreateIdentity } from './identity-store.js';
import { budgetRefusals, type InfoJson, infoReport } from './info-report.js';
import { IpcDispatch } from './ipc-dispatch.js';
import { checkSocketFree, IpcServer } from './ipc-server.js';
import { KeyPins } from './key-pins.js';
import {
  createChecksumPolicy,
  createPathMtuPolicy,
  createTransport,
  createTunnel,
  useAdvertisedReflector,
} from './link-setup.js';
import { createLogger } from './logger.js';
import { Mailbox } from './mailbox.js';
import { type DaemonOptions, splitHostPort } from './options.js';
import { createRegistrySession, discoverEndpoint } from './registration.js';
import { parseRendezvousFlags } from './rendezvous-flags.js';
import { useAdvertisedTlsRelay } from './tls-relay-config.js';
import { TrustManager } from './trust.js';
import { dropPeer } from './trust-gate.js';
import { TrustStore } from './trust-store.js';
import { createTunnelDirectory } from './tunnel-directory.js';
import { WebhookSender } from './webhook.js';

export type { InfoJson } from './info-report.js';

/** A running daemon (startDaemon). */
export interface Daemon {
  readonly nodeId: number;
  /** The node's address as text, `0:0000.HHHH.LLLL`. */
  readonly address: string;
  readonly socket: string;
  readonly home: string;
  /** The bound UDP endpoint of the tunnel socket. */
  readonly udpAddress: UdpAddress;
  /** Where `GET /metrics` is served (`--metrics`), as `host:port`; undefined when off. */
  readonly metrics: string | undefined;
  info(): InfoJson;
  close(): Promise<void>;
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

/**
 * The composer: builds the parts in the order they need each other (registry session → tunnel →
 * transport → trust → registration → services → IPC) and closes them in the order that lets the
 * last bytes out. What each part does lives in its own file (README "Source map").
 */
class PilotDaemon implements Daemon {
  readonly #ctx: DaemonContext;
  readonly #logFile: WriteStream | undefined;
  #metrics: MetricsServer | undefined;
  #closing: Promise<void> | undefined;
  #stopSweep: (() => void) | undefined;
  #stopBudgetLog: (() => void) | undefined;

  constructor(options: DaemonOptions) {
    let write: ((line: string) => void) | undefined;
    if (options.logFile !== undefined) {
      ensurePrivateDir(join(options.logFile, '..'));
      this.#logFile = createWriteStream(options.logFile, { flags: 'a', mode: 0o600 });
      const file = this.#logFile;
      write = (line) => file.write(line);
    }
    const log = createLogger(options.logLevel ?? 'info', options.logFormat ?? 'text', write);
    this.#ctx = new DaemonContext(
      options,
      log,
      resolveDaemonBudgets(options.budgets),
      new WebhookSender(undefined, log),
    );
  }

  get nodeId(): number {
    return this.#ctx.nodeId;
  }
  get address(): string {
    return this.#ctx.address;
  }
  get socket(): string {
    return this.#ctx.socket;
  }
  get home(): string {
    return this.#ctx.home;
  }
  get udpAddress(): UdpAddress {
    const tunnel = this.#ctx.tunnel;
    return tunnel?.socket === undefined ? { address: '', port: 0 } : tunnel.udpAddress;
  }
  get metrics(): string | undefined {
    return this.#metrics?.address;
  }

  info(): InfoJson {
    return infoReport(this.#ctx);
  }

  async start(): Promise<void> {
    const ctx = this.#ctx;
    const o = ctx.options;
    const log = ctx.log;
    if (o.webhook !== undefined && o.webhook !== '') ctx.webhook.setUrl(o.webhook);
    ensurePrivateDir(ctx.home, true);
    await checkSocketFree(ctx.socket);
    const { identity, created } = loadOrCreateIdentity(ctx.identityPath);
    ctx.identity = identity;
    if (created) log.info('created a new identity', { path: ctx.identityPath });
    const mailbox = new Mailbox(ctx.home);
    ctx.mailbox = mailbox;
    const trustStore = new TrustStore(join(ctx.home, 'trust.json'));
    ctx.trustStore = trustStore;
    const keyPins = new KeyPins(trustStore, log, (event, data) => ctx.emit(event, data));
    ctx.keyPins = keyPins;
    const flags = await parseRendezvousFlags(o, log);

    // The registry session first: the tunnel asks it for keys and endpoints.
    const session = createRegistrySession(ctx, identity, flags);
    ctx.session = session;
    const { directory, lookups, unknownNodes } = createTunnelDirectory(ctx, session, keyPins);
    ctx.lookups = lookups;
    ctx.unknownNodes = unknownNodes;

    // The link: the tunnel owns the UDP socket; the transport runs over it.
    const tunnel = createTunnel(ctx, identity, flags, session, directory);
    ctx.tunnel = tunnel;
    await tunnel.bind({ host: flags.listen.host, port: flags.listen.port });
    const transport = await createTransport(ctx, tunnel);
    ctx.transport = transport;
    ctx.pathMtu = createPathMtuPolicy(ctx, tunnel, transport);
    ctx.checksumFree = createChecksumPolicy(ctx, tunnel, transport);
    ctx.endpoint = flags.fixedEndpoint;

    const trust = new TrustManager({
      identity,
      store: trustStore,
      keyPins,
      session,
      log,
      autoApprove: o.trustAutoApprove === true,
      nodeId: () => ctx.nodeId,
      sendDirect: (node, message) => ctx.dialer.sendHandshake(node, message),
      onRevoked: (node) => dropPeer(ctx, node),
      emit: (event, data) => ctx.emit(event, data),
    });
    ctx.trust = trust;

    // Registered: now the node ID is known, the tunnel starts and the endpoint is discovered.
    await session.start();
    useAdvertisedReflector(ctx, flags, tunnel);
    useAdvertisedTlsRelay(ctx, session, tunnel);
    tunnel.start(ctx.nodeId);
    if (flags.fixedEndpoint === undefined && flags.beacon !== undefined)
      await discoverEndpoint(ctx, tunnel, session);

    startBuiltInServices(ctx, mailbox, trust);
    this.#stopSweep = startDeadPeerSweep(ctx);
    await ctx.membership.start();
    this.#stopBudgetLog = startBudgetLog(log, ctx.budgets['log-interval-ms'], () => budgetRefusals(ctx));
    ctx.ipc = await IpcServer.listen(ctx.socket, new IpcDispatch(ctx), log);
    if (o.metrics !== undefined) {
      // Opt-in, loopback unless a host is named: the figures are this node's alone.
      const { host, port } = splitHostPort(o.metrics, '--metrics');
      this.#metrics = await startMetricsServer({ registry: daemonMetrics(() => this.info()), host, port });
    }
    log.info('daemon ready', {
      address: ctx.address,
      node_id: ctx.nodeId,
      udp: `${tunnel.udpAddress.address}:${tunnel.udpAddress.port}`,
      socket: ctx.socket,
      encrypt: o.encrypt !== false,
    });
    ctx.emit('node.registered', { address: ctx.address });
  }

  close(): Promise<void> {
    this.#ctx.closing = true;
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    const ctx = this.#ctx;
    ctx.log.info('shutting down');
    this.#stopSweep?.();
    ctx.membership.stop();
    this.#stopBudgetLog?.();
    ctx.session?.suspend();
    await ctx.ipc?.close().catch(() => {});
    await this.#metrics?.close();
    ctx.broker?.close();
    // FIN to every connection, then up to 2 s for the FINs (and their answers) to travel.
    const open = ctx.connections.values();
    for (const entry of open) entry.stream.end();
    if (open.length > 0) {
      const deadline = Date.now() + 2000;
      while (Date.now() < deadline && open.some((entry) => !entry.stream.destroyed)) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    if (ctx.session !== undefined && ctx.nodeId !== 0) {
      if (await ctx.session.deregister(3000)) ctx.log.info('deregistered');
    }
    ctx.session?.close();
    ctx.lingering.clear();
    ctx.trust?.close();
    ctx.webhook.close();
    // The transport first: its RSTs for connections still open must be sealed by a live tunnel.
    await ctx.transport?.close().catch(() => {});
    await ctx.tunnel?.close().catch(() => {});
    ctx.log.info('stopped');
    if (this.#logFile !== undefined) {
      const file = this.#logFile;
      await new Promise<void>((resolve) => file.end(() => resolve()));
    }
  }
}
