import { isIP } from 'node:net';
import { normalizeIp, type UdpAddress } from '@pilot/wire';

const MAPPED_PREFIX = '::ffff:';

/** The address to hand to `socket.send` for `target` on a socket of `family` ('udp4' or 'udp6'). */
export function sendAddress(target: UdpAddress, family: 'udp4' | 'udp6'): string {
  const ip = normalizeIp(target.address);
  if (family === 'udp6' && isIP(ip) === 4) return `${MAPPED_PREFIX}${ip}`;
  return ip;
}
