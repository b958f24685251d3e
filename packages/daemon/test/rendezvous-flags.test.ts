import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import type { DaemonOptions } from '../src/options.js';
import { parseRendezvousFlags } from '../src/rendezvous-flags.js';

// The flags that say where a node meets the network: separated out of the daemon's start-up, so the
// NAT-classification choice (which two servers) is checked without starting a daemon.

const base: DaemonOptions = { home: '/nonexistent', registry: '127.0.0.1:9000', socket: '/nonexistent.sock' };

function parse(extra: Partial<DaemonOptions>): {
  flags: ReturnType<typeof parseRendezvousFlags>;
  warned: string[];
} {
  const warned: string[] = [];
  const log = createLogger('warn', 'text', (line) => warned.push(line));
  return { flags: parseRendezvousFlags({ ...base, ...extra }, log), warned };
}

describe('parseRendezvousFlags', () => {
  it('takes the first --registry and --beacon, the rest as fallbacks; defaults listen to 0.0.0.0:0', () => {
    const { flags } = parse({ registry: 'a:1,b:2', beacon: 'c:3,[::1]:4' });
    expect(flags.registry).toEqual({ host: 'a', port: 1 });
    expect(flags.fallbackRegistries).toEqual([{ host: 'b', port: 2 }]);
    expect(flags.beacon).toEqual({ host: 'c', port: 3 });
    expect(flags.fallbackBeacons).toEqual([{ host: '::1', port: 4 }]);
    expect(flags.listen).toEqual({ host: '0.0.0.0', port: 0 });
    expect(flags.fixedEndpoint).toBeUndefined();
    expect(flags.reflectors).toBeUndefined();
  });

  it('classifies the NAT against the beacon and the first reflector, or two reflectors without a beacon', () => {
    expect(parse({ beacon: 'b:1', reflectors: ['s:2', 's:3'] }).flags.reflectors).toEqual([
      { protocol: 'beacon', address: 'b', port: 1 },
      { protocol: 'stun', address: 's', port: 2 },
    ]);
    expect(parse({ reflectors: ['beacon:x:5', 'y:6'] }).flags.reflectors).toEqual([
      { protocol: 'beacon', address: 'x', port: 5 },
      { protocol: 'stun', address: 'y', port: 6 },
    ]);
  });

  it('warns that one reflector without a beacon classifies nothing', () => {
    const { flags, warned } = parse({ reflectors: ['s:2'] });
    expect(flags.reflectors).toBeUndefined();
    expect(warned.join('')).toContain('cannot classify the NAT');
  });

  it('refuses malformed flags with DAEMON_BAD_OPTION', () => {
    expect(() => parse({ registry: 'nope' })).toThrow(expect.objectContaining({ code: 'DAEMON_BAD_OPTION' }));
    expect(() => parse({ endpoint: 'x:99999' })).toThrow(
      expect.objectContaining({ code: 'DAEMON_BAD_OPTION' }),
    );
  });
});
