import { lookup } from 'node:dns/promises';
import type { ReflectorServer } from '@pilot/nat';
import { ipFamily, type UdpAddress } from '@pilot/wire';
import { DaemonErrorCode, daemonError } from './errors.js';
import type { Logger } from './logger.js';
import { type DaemonOptions, type HostAndPort, parseReflector, splitHostPort } from './options.js';

/** Where this node meets the network, from `--registry`, `--beacon`, `--reflector`, `--listen`, `--endpoint`. */
export interface RendezvousFlags {
  /** The registry preferred, and other instances of the same network (a shared database). */
  readonly registry: HostAndPort;
  readonly fallbackRegistries: readonly HostAndPort[];
  /** The beacon in use first, and the next ones used when one stops answering (names resolved). */
  readonly beacon: UdpAddress | undefined;
  readonly fallbackBeacons: readonly UdpAddress[];
  /** The two servers our NAT is classified against, when the flags give two. */
  readonly reflectors: readonly [ReflectorServer, ReflectorServer] | undefined;
  /** Where the tunnel socket binds. */
  readonly listen: HostAndPort;
  /** `--endpoint`: the endpoint to announce instead of discovering one through the beacon. */
  readonly fixedEndpoint: HostAndPort | undefined;
}

/**
 * Reads the rendezvous flags (DAEMON_BAD_OPTION when malformed). The UDP servers among them (beacons,
 * reflectors) become `UdpAddress`es here: a host name is resolved once, in the family of the tunnel
 * socket (`--listen`), as the reference resolves `-beacon`; an unresolvable one is DAEMON_BAD_OPTION.
 */
export async function parseRendezvousFlags(o: DaemonOptions, log: Logger): Promise<RendezvousFlags> {
  // `--registry a,b`: instances of one network (a shared database), the first preferred.
  const [registry, ...fallbackRegistries] = o.registry
    .split(',')
    .map((entry) => splitHostPort(entry, '--registry'));
  if (registry === undefined) throw daemonError(DaemonErrorCode.BAD_OPTION, '--registry is empty');
  // `--beacon a,b`: the beacons of one network, the next used when one stops answering.
  const beaconFlags =
    o.beacon === undefined || o.beacon === ''
      ? []
      : o.beacon.split(',').map((entry) => splitHostPort(entry, '--beacon'));
  const reflectorFlags = (o.reflectors ?? []).map(parseReflector);
  const listen = splitHostPort(o.listen ?? '0.0.0.0:0', '--listen', '0.0.0.0');
  // The tunnel socket is IPv6 only when it binds an IPv6 host (bindUdpSocket); an IPv4 one needs IPv4.
  const family = listen.host.includes(':') ? 6 : 4;
  const [beacon, ...fallbackBeacons] = await Promise.all(
    beaconFlags.map((flag) => udpAddressOf(flag, family, '--beacon')),
  );
  const reflectorServers = await Promise.all(
    reflectorFlags.map(
      async (flag): Promise<ReflectorServer> => ({
        protocol: flag.protocol,
        ...(await udpAddressOf(flag, family, '--reflector')),
      }),
    ),
  );
  const reflectors = classificationServers(beacon, reflectorServers);
  if (reflectors === undefined && (o.reflectors?.length ?? 0) > 0)
    log.warn('one --reflector without --beacon cannot classify the NAT: give two');
  return {
    registry,
    fallbackRegistries,
    beacon,
    fallbackBeacons,
    reflectors,
    listen,
    fixedEndpoint:
      o.endpoint === undefined || o.endpoint === '' ? undefined : splitHostPort(o.endpoint, '--endpoint'),
  };
}

/**
 * The two servers the tunnel manager classifies our NAT against (easy/hard mapping, which decides the
 * birthday-probing role): the beacon and the first `--reflector`, or the first two reflectors without
 * a beacon. Undefined when fewer than two are known (no classification: easy + hard pairs relay).
 */
function classificationServers(
  beacon: UdpAddress | undefined,
  reflectors: readonly ReflectorServer[],
): readonly [ReflectorServer, ReflectorServer] | undefined {
  const servers = [...reflectors];
  if (beacon !== undefined && servers.length > 0)
    servers.unshift({ protocol: 'beacon', address: beacon.address, port: beacon.port });
  const [first, second] = servers;
  return first === undefined || second === undefined ? undefined : [first, second];
}

/** A flag's UDP server as an address to send to: an IP literal as given, a name looked up once. */
async function udpAddressOf(flag: HostAndPort, family: 4 | 6, what: string): Promise<UdpAddress> {
  if (ipFamily(flag.host) !== 0) return { address: flag.host, port: flag.port };
  try {
    const { address } = await lookup(flag.host, { family });
    return { address, port: flag.port };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw daemonError(DaemonErrorCode.BAD_OPTION, `${what} ${flag.host}: cannot resolve it (${reason})`);
  }
}
