import type { ReflectorServer } from '@pilot/nat';
import { DaemonErrorCode, daemonError } from './errors.js';
import type { Logger } from './logger.js';
import { type DaemonOptions, type HostAndPort, parseReflector, splitHostPort } from './options.js';

/** Where this node meets the network, from `--registry`, `--beacon`, `--reflector`, `--listen`, `--endpoint`. */
export interface RendezvousFlags {
  /** The registry preferred, and other instances of the same network (a shared database). */
  readonly registry: HostAndPort;
  readonly fallbackRegistries: readonly HostAndPort[];
  /** The beacon in use first, and the next ones used when one stops answering. */
  readonly beacon: HostAndPort | undefined;
  readonly fallbackBeacons: readonly HostAndPort[];
  /** The two servers our NAT is classified against, when the flags give two. */
  readonly reflectors: readonly [ReflectorServer, ReflectorServer] | undefined;
  /** Where the tunnel socket binds. */
  readonly listen: HostAndPort;
  /** `--endpoint`: the endpoint to announce instead of discovering one through the beacon. */
  readonly fixedEndpoint: HostAndPort | undefined;
}

/** Reads the rendezvous flags (DAEMON_BAD_OPTION when malformed). */
export function parseRendezvousFlags(o: DaemonOptions, log: Logger): RendezvousFlags {
  // `--registry a,b`: instances of one network (a shared database), the first preferred.
  const [registry, ...fallbackRegistries] = o.registry
    .split(',')
    .map((entry) => splitHostPort(entry, '--registry'));
  if (registry === undefined) throw daemonError(DaemonErrorCode.BAD_OPTION, '--registry is empty');
  // `--beacon a,b`: the beacons of one network, the next used when one stops answering.
  const [beacon, ...fallbackBeacons] =
    o.beacon === undefined || o.beacon === ''
      ? []
      : o.beacon.split(',').map((entry) => splitHostPort(entry, '--beacon'));
  const reflectors = classificationServers(beacon, o.reflectors ?? []);
  if (reflectors === undefined && (o.reflectors?.length ?? 0) > 0)
    log.warn('one --reflector without --beacon cannot classify the NAT: give two');
  return {
    registry,
    fallbackRegistries,
    beacon,
    fallbackBeacons,
    reflectors,
    listen: splitHostPort(o.listen ?? '0.0.0.0:0', '--listen', '0.0.0.0'),
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
  beacon: HostAndPort | undefined,
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
