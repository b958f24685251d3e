import { isIP } from 'node:net';
import { propertyOptions } from '@pilot/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkUdpAddress,
  formatUdpAddress,
  fromIpEndpoint,
  ipFamily,
  normalizeIp,
  parseIp,
  sameUdpAddress,
  toIpEndpoint,
} from '../src/index.js';
import { expectWireError } from './frame-helpers.js';

// Text that is an IP literal, nearly one, or anything at all.
const ipText = (): fc.Arbitrary<string> =>
  fc.oneof(
    fc.ipV4(),
    fc.ipV6(),
    fc.ipV4().map((v4) => `::ffff:${v4}`),
    fc.ipV4().map((v4) => `::FFFF:${v4}`),
    fc.ipV4Extended(),
    fc.domain(),
    fc.string({ maxLength: 40 }),
    fc.stringMatching(/^[0-9a-fA-F:.]{0,40}$/),
  );

describe('UdpAddress', () => {
  it('folds IPv4-mapped IPv6 to dotted IPv4 and writes IPv6 in RFC 5952 form', () => {
    expect(normalizeIp('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(normalizeIp('::FFFF:192.0.2.1')).toBe('192.0.2.1');
    expect(normalizeIp('0:0:0:0:0:ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(normalizeIp('::ffff:c000:201')).toBe('192.0.2.1');
    expect(normalizeIp('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1');
    expect(normalizeIp('10.0.0.1')).toBe('10.0.0.1');
    expect(normalizeIp('Relay.Example')).toBe('relay.example');
    expect(normalizeIp('fe80::1%eth0')).toBe('fe80::1%eth0');
  });

  it('compares and prints addresses whatever their spelling', () => {
    expect(sameUdpAddress({ address: '::ffff:10.0.0.1', port: 5 }, { address: '10.0.0.1', port: 5 })).toBe(
      true,
    );
    expect(sameUdpAddress({ address: '10.0.0.1', port: 5 }, { address: '10.0.0.1', port: 6 })).toBe(false);
    expect(sameUdpAddress({ address: '10.0.0.1', port: 5 }, { address: '10.0.0.2', port: 5 })).toBe(false);
    expect(formatUdpAddress({ address: '::ffff:10.0.0.1', port: 5 })).toBe('10.0.0.1:5');
    expect(formatUdpAddress({ address: '2001:db8::1', port: 9001 })).toBe('[2001:db8::1]:9001');
  });

  it('converts to and from the binary IpEndpoint', () => {
    const endpoint = toIpEndpoint({ address: '::ffff:203.0.113.7', port: 9001 });
    expect([...endpoint.ip]).toEqual([203, 0, 113, 7]);
    expect(fromIpEndpoint(endpoint)).toEqual({ address: '203.0.113.7', port: 9001 });
    expect(fromIpEndpoint({ ip: parseIp('::ffff:203.0.113.7'), port: 1 })).toEqual({
      address: '203.0.113.7',
      port: 1,
    });
    expect(fromIpEndpoint(toIpEndpoint({ address: '2001:db8::1', port: 2 }))).toEqual({
      address: '2001:db8::1',
      port: 2,
    });
  });

  it('refuses names, zones and bad ports with WIRE_BAD_ADDRESS', () => {
    for (const bad of [
      { address: 'example.com', port: 1 },
      { address: 'fe80::1%eth0', port: 1 },
      { address: '[::1]', port: 1 },
      { address: '010.0.0.1', port: 1 },
      { address: '10.0.0.1', port: 0 },
      { address: '10.0.0.1', port: 65_536 },
      { address: '10.0.0.1', port: 1.5 },
    ]) {
      expectWireError(() => checkUdpAddress(bad), 'WIRE_BAD_ADDRESS');
      expectWireError(() => toIpEndpoint(bad), 'WIRE_BAD_ADDRESS');
    }
  });

  it('knows an IP literal as node:net does (zones aside: they are not addresses on the wire)', () => {
    fc.assert(
      fc.property(ipText(), (text) => {
        const expected = text.includes('%') ? 0 : isIP(text);
        expect(ipFamily(text)).toBe(expected);
      }),
      propertyOptions(),
    );
  });

  it('normalizes to one spelling: idempotent, same bytes, never throws', () => {
    fc.assert(
      fc.property(ipText(), (text) => {
        const plain = normalizeIp(text);
        expect(normalizeIp(plain)).toBe(plain);
        const family = ipFamily(text);
        if (family === 0) {
          expect(plain).toBe(text.toLowerCase());
          return;
        }
        const before = parseIp(text.toLowerCase());
        const after = parseIp(plain);
        // A mapped IPv4 becomes its last four bytes; anything else keeps its bytes.
        expect([...after]).toEqual([...(after.length === before.length ? before : before.subarray(12))]);
      }),
      propertyOptions(),
    );
  });

  it('checks any address without crashing: accepted ones survive the wire form', () => {
    fc.assert(
      fc.property(ipText(), fc.integer({ min: -2, max: 70_000 }), (address, port) => {
        let ok = true;
        try {
          checkUdpAddress({ address, port });
        } catch (error) {
          ok = false;
          expect((error as { code?: string }).code).toBe('WIRE_BAD_ADDRESS');
        }
        if (ok) {
          expect(sameUdpAddress(fromIpEndpoint(toIpEndpoint({ address, port })), { address, port })).toBe(
            true,
          );
        }
      }),
      propertyOptions(),
    );
  });
});
