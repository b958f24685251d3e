import {
  type AmplificationPolicy,
  Beacon,
  type BeaconOptions,
  type BeaconStats,
  TlsRelayServer,
  type TlsRelayStats,
} from '@pilot/nat';
import type { Logger } from './logger.js';

/**
 * The beacon (UDP endpoint discovery, punch coordination and relay, spec §4, plus STUN Binding on
 * the same socket), run in the same process as the registry as the reference does, default `:9001`.
 * The server itself is `Beacon` from `@pilot/nat`; this file adapts it to the program.
 */
export type BeaconStatus = {
  /** The bound UDP address, as `host:port`. */
  readonly address: string;
  /** Nodes the beacon has an endpoint for (expired ones until the next reap, at most 60 s). */
  readonly nodes: number;
  readonly stats: BeaconStats;
};

export type BeaconHandle = {
  /** The bound UDP address, as `host:port`. */
  readonly address: string;
  status(): BeaconStatus;
  close(): Promise<void>;
  /** Serves this beacon's relay over WebSocket-over-TLS too (`--wss-addr`). */
  startTlsRelay?(options: TlsRelayStartOptions): Promise<TlsRelayHandle>;
};

export type TlsRelayStartOptions = {
  readonly host: string;
  readonly port: number;
  readonly tls: { readonly key: string; readonly cert: string };
  readonly nodeKey: (node: number) => Uint8Array | undefined;
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  readonly maxQueuedBytes: number;
};

export type TlsRelayStatus = { readonly address: string; readonly stats: TlsRelayStats };

export type TlsRelayHandle = {
  /** The bound TCP address, as `host:port`. */
  readonly address: string;
  status(): TlsRelayStatus;
  close(): Promise<void>;
};

export type BeaconFactory = (options: {
  readonly host: string;
  readonly port: number;
  readonly amplification: AmplificationPolicy;
  readonly logger: Logger;
  /** Budgets and the registry's node keys (discover proofs), as BeaconOptions. */
  readonly budgets?: Partial<BeaconOptions>;
}) => Promise<BeaconHandle>;

export function formatHostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** The beacon of this build: `Beacon` from `@pilot/nat`. */
export function loadBeacon(): BeaconFactory {
  return async ({ host, port, amplification, budgets }) => {
    const beacon = await Beacon.start({
      ...budgets,
      host,
      port,
      type: host.includes(':') ? 'udp6' : 'udp4',
      amplification,
    });
    const bound = beacon.address();
    const address = formatHostPort(bound.address, bound.port);
    return {
      address,
      status: () => ({ address, nodes: beacon.nodeCount, stats: beacon.stats() }),
      close: () => beacon.close(),
      startTlsRelay: async (options) => {
        const relay = await TlsRelayServer.start({ ...options, beacon });
        const bound = relay.address();
        const relayAddress = formatHostPort(bound.host, bound.port);
        return {
          address: relayAddress,
          status: () => ({ address: relayAddress, stats: relay.stats() }),
          close: () => relay.close(),
        };
      },
    };
  };
}
