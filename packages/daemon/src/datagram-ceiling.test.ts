import { describe, expect, it } from 'vitest';
import {
  datagramCeiling,
  INTERNET_DATAGRAM_CEILING_V4,
  INTERNET_DATAGRAM_CEILING_V6,
  LOOPBACK_DATAGRAM_CEILING,
  LOOPBACK_DATAGRAM_CEILING_V6,
} from './datagram-ceiling.js';

describe('datagramCeiling', () => {
  it('loopback takes the largest datagram that is never IP-fragmented on a 64 KiB MTU', () => {
    // IPv4: 20-byte header + 8-byte UDP header + payload fit 65,535; IPv6: 40 + 8 + payload fit 65,536.
    expect(LOOPBACK_DATAGRAM_CEILING + 28).toBe(65_535);
    expect(LOOPBACK_DATAGRAM_CEILING_V6 + 48).toBe(65_536);
    expect(datagramCeiling('127.0.0.1')).toBe(LOOPBACK_DATAGRAM_CEILING);
    expect(datagramCeiling('127.3.2.1')).toBe(LOOPBACK_DATAGRAM_CEILING);
    expect(datagramCeiling('::ffff:127.0.0.1')).toBe(LOOPBACK_DATAGRAM_CEILING);
    expect(datagramCeiling('::1')).toBe(LOOPBACK_DATAGRAM_CEILING_V6);
  });

  it('a name is not a path: no probing; an Internet address gets the Ethernet size', () => {
    expect(datagramCeiling('localhost')).toBe(0);
    expect(datagramCeiling('127.0.0.1.example')).toBe(0);
    expect(datagramCeiling('203.0.113.7')).toBe(INTERNET_DATAGRAM_CEILING_V4);
    expect(datagramCeiling('2001:db8::7')).toBe(INTERNET_DATAGRAM_CEILING_V6);
  });
});
