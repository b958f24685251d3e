import { describe, expect, it } from 'vitest';
import { valuesDigest } from '../src/index.js';

// Digests computed by the previous release (main at 043fb51), before the `tunnel-capabilities`
// extension existed. A request without extension values must digest exactly as it did then, or
// daemons and registries of the two releases refuse each other's signatures (DIR_BAD_SIGNATURE).
const register = {
  type: 'register',
  listen_addr: '203.0.113.7:4000',
  owner: 'ops@example.org',
  hostname: 'agent-alpha',
  lan_addrs: ['10.0.0.2:4000'],
  public_key: 'x',
};

describe('version-2 value digests across releases', () => {
  it('a register without extension values digests as the previous release did', () => {
    expect(valuesDigest(register)).toBe('phymAwHAXvO-s3xutcEgXqvAFetmDtaluEbD4-k6pcU');
    expect(valuesDigest({ type: 'set_hostname', hostname: 'a' })).toBe(
      'GvWyucYWFCMoWkDEUOLo67-l8W3Usig2km-X3UvAvIQ',
    );
  });

  it('extension values are covered: adding, stripping or changing one changes the digest', () => {
    const plain = valuesDigest(register);
    const withCaps = valuesDigest({ ...register, tunnel_capabilities: ['forward-secrecy'] });
    const otherCaps = valuesDigest({ ...register, tunnel_capabilities: ['large-datagrams'] });
    expect(withCaps).not.toBe(plain);
    expect(otherCaps).not.toBe(withCaps);
    // An extension value cannot pose as an absent base value (or the reverse).
    expect(valuesDigest({ ...register, tunnel_capabilities: null })).not.toBe(plain);
  });
});
