import type { UdpAddress } from '@pilot/nat';
import type { UdpEndpoint } from '@pilot/transport/node';
import type { DualAddress, TunnelAddress } from './types.js';

/** Conversions between the UDP address spellings of `@pilot/nat` and the transport. */

export const toEndpoint = (address: UdpAddress): UdpEndpoint => ({
  host: address.address,
  port: address.port,
});

/** Either spelling of a UDP address, as `@pilot/nat` spells it. */
export function natAddress(address: TunnelAddress): UdpAddress {
  return 'address' in address
    ? { address: address.address, port: address.port }
    : { address: address.host, port: address.port };
}

export function dualAddress(address: UdpAddress): DualAddress {
  return { address: address.address, host: address.address, port: address.port };
}
