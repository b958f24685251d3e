import { resolve as resolvePath } from 'node:path';
import type { Identity } from '@pilot/crypto';
import type { Datagram } from '@pilot/transport';
import { type PilotStream, UdpTransport } from '@pilot/transport/node';
import { DEFAULT_TUNNEL_CAPABILITIES, type TunnelDirectory, TunnelManager } from '@pilot/tunnel';
import { TunnelCapability } from '@pilot/wire';
import { ChecksumPolicy } from './checksum-policy.js';
import type { DaemonContext } from './daemon-context.js';
import { onInboundDatagram, onInboundStream } from './inbound.js';
import { negotiatedLargeDatagrams, PathMtuPolicy } from './path-mtu-policy.js';
import type { RegistrySession } from './registry-session.js';
import type { RendezvousFlags } from './rendezvous-flags.js';
import { tlsRelayOptions } from './tls-relay-config.js';
import { admit } from './trust-gate.js';
import { loadOrCreateTunnelKey } from './tunnel-key-store.js';

// The link: the tunnel (UDP socket, paths, sealing) and the transport over it, as the flags say.

/** The tunnel manager, not bound yet: keys, capabilities, beacons, reflectors, TLS relay, budgets. */
export function createTunnel(
  ctx: DaemonContext,
  identity: Identity,
  flags: RendezvousFlags,
  session: RegistrySession,
  directory: TunnelDirectory,
): TunnelManager {
  const o = ctx.options;
  const budgets = ctx.budgets;
  const tunnelKey =
    o.tunnelKeyFile === undefined ? undefined : loadOrCreateTunnelKey(resolvePath(o.tunnelKeyFile)).key;
  const { beacon, fallbackBeacons, reflectors } = flags;
  return new TunnelManager({
    identity,
    ...(tunnelKey === undefined ? {} : { x25519: tunnelKey }),
    forwardSecrecy: o.forwardSecrecy !== false,
    // Larger datagrams between pilot-ts peers (path MTU probed, path-mtu-policy.ts): advertised
    // unless turned off, so the policy finds the capability negotiated.
    capabilities: [
      ...DEFAULT_TUNNEL_CAPABILITIES,
      ...(o.largeDatagrams !== false ? [TunnelCapability.LARGE_DATAGRAMS] : []),
      // No CRC inside PILS between pilot-ts peers (checksum-policy.ts); PILT keeps it.
      ...(o.aeadChecksumFree !== false && o.encrypt !== false ? [TunnelCapability.AEAD_CHECKSUM_FREE] : []),
    ],
    rekey: {
      ...(o.rekeyAfter === undefined ? {} : { ms: o.rekeyAfter }),
      ...(o.rekeyBytes === undefined ? {} : { bytes: o.rekeyBytes }),
    },
    directory,
    ...(beacon === undefined ? {} : { beacon }),
    ...(fallbackBeacons.length === 0 ? {} : { fallbackBeacons }),
    ...(reflectors === undefined ? {} : { reflectors }),
    ...tlsRelayOptions(ctx, session),
    punchBudget: {
      maxAttempts: budgets['punch-attempts'],
      unsolicitedPerIpPerSecond: budgets['punch-unsolicited-per-ip'],
      unsolicitedPerIpBurst: budgets['punch-unsolicited-burst'],
      unsolicitedPerSecond: budgets['punch-unsolicited-rate'],
      maxBirthdays: budgets['birthday-concurrent'],
      birthdayPerIpMs: budgets['birthday-per-ip-ms'],
    },
    encrypt: o.encrypt !== false,
    log: (level, message, fields) => ctx.log.log(level, message, fields),
    onEvent: (event) => {
      const { type, ...data } = event;
      ctx.emit(type, data);
      ctx.pathMtu?.onTunnelEvent(event);
      ctx.checksumFree?.onTunnelEvent(event);
    },
  });
}

/**
 * The transport over the (bound) tunnel: the trust gate admits SYNs and datagrams, accepted streams
 * and datagrams go to inbound.ts; the flags' timers and connection limits.
 */
export async function createTransport(
  ctx: DaemonContext,
  tunnel: TunnelManager,
): Promise<UdpTransport<TunnelManager>> {
  const o = ctx.options;
  const transport = await UdpTransport.create({
    link: tunnel,
    localAddress: { network: 0, node: 0 },
    admit: (source, port, kind) => admit(ctx, source, port, kind),
    ...(o.keepalive === undefined ? {} : { keepaliveInterval: o.keepalive }),
    ...(o.idleTimeout === undefined ? {} : { idleTimeout: o.idleTimeout }),
    ...(o.timeWait === undefined ? {} : { timeWait: o.timeWait }),
    ...(o.synRateLimit === undefined ? {} : { synRatePerSource: o.synRateLimit }),
    ...(o.maxConnsPerPort === undefined ? {} : { maxConnectionsPerPort: o.maxConnsPerPort }),
    ...(o.maxConnsTotal === undefined ? {} : { maxConnections: o.maxConnsTotal }),
    maxReceiveBytesPerPeer: ctx.budgets['peer-receive-bytes'],
  });
  transport.on('connection', (stream: PilotStream) => onInboundStream(ctx, stream));
  transport.on('datagram', (datagram: Datagram) => onInboundDatagram(ctx, datagram));
  return transport;
}

/** Larger datagrams towards peers that negotiated them, on direct paths only (`--large-datagrams`). */
export function createPathMtuPolicy(
  ctx: DaemonContext,
  tunnel: TunnelManager,
  transport: UdpTransport<TunnelManager>,
): PathMtuPolicy {
  return new PathMtuPolicy(
    {
      negotiated: (node) => negotiatedLargeDatagrams(tunnel, node),
      directEndpoint: (node) => {
        const peer = tunnel.peer(node);
        return peer === undefined || peer.relay || peer.path !== 'direct' ? undefined : peer.endpoint;
      },
    },
    transport,
    ctx.options.largeDatagrams !== false,
  );
}

/**
 * No CRC inside PILS towards peers that negotiated `aead-checksum-free` in their signed PILX
 * (`--aead-checksum-free`); never with a plaintext tunnel.
 */
export function createChecksumPolicy(
  ctx: DaemonContext,
  tunnel: TunnelManager,
  transport: UdpTransport<TunnelManager>,
): ChecksumPolicy {
  return new ChecksumPolicy(
    {
      negotiated: (node) => {
        const capabilities = tunnel.capabilities(node);
        return capabilities.signed && capabilities.has(TunnelCapability.AEAD_CHECKSUM_FREE);
      },
    },
    transport,
    ctx.options.aeadChecksumFree !== false && ctx.options.encrypt !== false,
  );
}

/**
 * No --reflector: the rendezvous' second reflector, when its registry advertised one
 * (reflector_port), beside the beacon: the NAT is classified without flags.
 */
export function useAdvertisedReflector(
  ctx: DaemonContext,
  flags: RendezvousFlags,
  tunnel: TunnelManager,
): void {
  const { beacon, reflectors } = flags;
  if (reflectors !== undefined || beacon === undefined || ctx.reflectorPort === undefined) return;
  tunnel.setReflectors([
    { protocol: 'beacon', address: beacon.address, port: beacon.port },
    { protocol: 'stun', address: beacon.address, port: ctx.reflectorPort },
  ]);
}
