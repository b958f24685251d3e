import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { Identity } from '@pilot/crypto';
import type { RegisterOptions, RegisterResult } from '@pilot/directory/client';
import { connectThroughProxy, parseProxyUrl } from '@pilot/nat';
import type { TunnelManager } from '@pilot/tunnel';
import type { DaemonContext } from './daemon-context.js';
import { errorMessage } from './errors.js';
import { RegistrySession } from './registry-session.js';
import type { RendezvousFlags } from './rendezvous-flags.js';
import { DAEMON_VERSION } from './version.js';
import { withTimeout } from './with-timeout.js';

/** The session with the registry (`--registry`, TLS and its pin, `--proxy`), not started yet. */
export function createRegistrySession(
  ctx: DaemonContext,
  identity: Identity,
  flags: RendezvousFlags,
): RegistrySession {
  const o = ctx.options;
  return new RegistrySession({
    host: flags.registry.host,
    port: flags.registry.port,
    fallbacks: flags.fallbackRegistries,
    identity,
    ...(o.registryTls === undefined ? {} : { tls: o.registryTls }),
    ...(o.registryFingerprint === undefined ? {} : { fingerprint: o.registryFingerprint }),
    knownRegistries: join(ctx.home, 'known_registries.json'),
    // --proxy / HTTPS_PROXY: where only an HTTP proxy gets out, the registry is reached through it too.
    ...(o.proxy === undefined || o.proxy === ''
      ? {}
      : {
          dial: (host: string, port: number) =>
            connectThroughProxy(parseProxyUrl(o.proxy as string), host, port),
        }),
    registration: () => registrationOf(ctx),
    heartbeatMs: o.heartbeat ?? 60_000,
    pollMs: o.handshakePoll ?? 5_000,
    log: ctx.log,
    onRegistered: (result, again) => onRegistered(ctx, result, again),
    onPoll: async (reply) => ctx.trust?.onPoll(reply),
    maxBackgroundRequests: ctx.budgets['lookup-queue'],
  });
}

/** What we register: the announced endpoint, LAN addresses when bound to all, hostname, capabilities. */
export function registrationOf(ctx: DaemonContext): RegisterOptions {
  const tunnel = ctx.tunnel;
  const bound = tunnel?.socket === undefined ? { address: '0.0.0.0', port: 0 } : tunnel.udpAddress;
  const announced = ctx.endpoint ?? { host: bound.address, port: bound.port };
  const host = announced.host.includes(':') ? `[${announced.host}]` : announced.host;
  const unspecified = bound.address === '0.0.0.0' || bound.address === '::';
  return {
    listenAddr: `${host}:${announced.port}`,
    ...(ctx.hostname === undefined || ctx.hostname === '' ? {} : { hostname: ctx.hostname }),
    ...(ctx.options.owner === undefined ? {} : { owner: ctx.options.owner }),
    ...(unspecified ? { lanAddrs: lanAddresses(bound.port) } : {}),
    version: DAEMON_VERSION,
    // Sent only to a registry advertising tunnel-capabilities (ours), under the register signature.
    ...(tunnel === undefined || ctx.options.encrypt === false
      ? {}
      : { tunnelCapabilities: tunnel.advertisedCapabilities }),
  };
}

/** Up to 8 of this host's IPv4 addresses, as `ip:port` (other nodes on our LAN try them first). */
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
 * After each (re-)registration: our node ID and address (the transport and tunnel follow a new ID),
 * the hostname the registry kept, and — after a re-registration, when the registry forgot us —
 * visibility, tags, trust reports and network membership again.
 */
async function onRegistered(ctx: DaemonContext, result: RegisterResult, again: boolean): Promise<void> {
  const session = ctx.session;
  if (session === undefined) return;
  ctx.reflectorPort = result.reflectorPort;
  ctx.wssPort = result.wssPort;
  const changed = result.nodeId !== ctx.nodeId;
  ctx.nodeId = result.nodeId;
  ctx.address = result.address;
  if (changed) {
    ctx.transport?.endpoint.setLocalAddress({ network: 0, node: result.nodeId });
    if (again) ctx.tunnel?.setNodeId(result.nodeId);
  }
  if (result.hostnameError !== undefined) {
    ctx.log.warn('hostname refused by the registry', {
      hostname: ctx.hostname,
      error: result.hostnameError,
    });
    ctx.hostname = result.hostname;
  }
  if (ctx.isPublic) {
    try {
      await session.client.setVisibility(session.signer, result.nodeId, true);
    } catch (error) {
      ctx.log.warn('set_visibility failed', { error: errorMessage(error) });
    }
  }
  if (again) {
    if (ctx.tags.length > 0) {
      try {
        await session.client.setTags(session.signer, result.nodeId, ctx.tags);
      } catch (error) {
        ctx.log.warn('set_tags failed', { error: errorMessage(error) });
      }
    }
    await ctx.trust?.reportAll();
    void ctx.membership.refresh();
    ctx.emit('node.reregistered', { address: ctx.address });
  } else {
    ctx.log.info('registered', { node_id: result.nodeId, address: result.address });
  }
}

/**
 * Without `--endpoint`: asks the beacon for our public endpoint (5 s) and registers it; on failure
 * the bound address stays announced.
 */
export async function discoverEndpoint(
  ctx: DaemonContext,
  tunnel: TunnelManager,
  session: RegistrySession,
): Promise<void> {
  try {
    const found = await withTimeout(tunnel.discover(), 5000, 'endpoint discovery');
    if (found !== undefined) {
      ctx.endpoint = { host: found.address, port: found.port };
      ctx.log.info('discovered the public endpoint', { endpoint: `${found.address}:${found.port}` });
      await session.call((client) => client.register(session.signer, registrationOf(ctx)));
    }
  } catch (error) {
    ctx.log.warn('endpoint discovery failed; announcing the bound address', {
      error: errorMessage(error),
    });
  }
}
