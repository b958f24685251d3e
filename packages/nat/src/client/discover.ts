import type { Socket } from 'node:dgram';
import { sameUdpAddress, type UdpAddress } from '@pilot/wire';
import type { RetransmitOptions } from '../_transact.js';
import { stunBinding } from '../stun/binding.js';
import { BeaconClient } from './beacon-client.js';

/** A server that reports reflexive addresses: a Pilot beacon or any STUN server. */
export interface ReflectorServer extends UdpAddress {
  readonly protocol: 'beacon' | 'stun';
}

/**
 * The endpoint `server` sees `socket` at. A beacon is asked with discover of node 0 (which does not
 * register anything); a STUN server with a Binding request.
 */
export async function discoverEndpoint(
  socket: Socket,
  server: ReflectorServer,
  options: RetransmitOptions = {},
): Promise<UdpAddress> {
  const target: UdpAddress = { address: server.address, port: server.port };
  if (server.protocol === 'stun') {
    return (await stunBinding(socket, target, { rto: 250, retries: 4, ...options })).reflexive;
  }
  const client = new BeaconClient(socket, { node: 0, beacon: target });
  try {
    return await client.discover(options);
  } finally {
    client.close();
  }
}

/** RFC 4787 mapping behaviour, in the words of the issue. */
export type NatMapping = 'easy' | 'hard';

export interface NatClassification {
  /** `easy`: the same reflexive endpoint towards both servers; `hard`: a different one. */
  readonly mapping: NatMapping;
  /** The reflexive endpoint each server reported, in the order of `servers`. */
  readonly endpoints: readonly [UdpAddress, UdpAddress];
  /** True when the reflexive endpoint equals the socket's bound address (no NAT before the servers). */
  readonly public: boolean;
}

/**
 * Classifies the NAT in front of `socket` by asking two servers at different addresses (two IPs,
 * or one IP and two ports: a symmetric NAT maps every destination address and port anew) from the
 * same socket and comparing what they saw.
 */
export async function classifyNat(
  socket: Socket,
  servers: readonly [ReflectorServer, ReflectorServer],
  options: RetransmitOptions = {},
): Promise<NatClassification> {
  // One after the other: the two transactions share the socket but each has its own filter.
  const first = await discoverEndpoint(socket, servers[0], options);
  const second = await discoverEndpoint(socket, servers[1], options);
  let bound: UdpAddress | undefined;
  try {
    const address = socket.address();
    bound = { address: address.address, port: address.port };
  } catch {
    bound = undefined;
  }
  return {
    mapping: sameUdpAddress(first, second) ? 'easy' : 'hard',
    endpoints: [first, second],
    public: bound !== undefined && sameUdpAddress(bound, first),
  };
}
