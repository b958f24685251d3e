import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import type { DaemonOptions } from '../src/options.js';
import { parseRendezvousFlags, type RendezvousFlags } from '../src/rendezvous-flags.js';

// The flags that say where a node meets the network: separated out of the daemon's start-up, so the
// NAT-classification choice (which two servers) is checked without starting a daemon. Beacons and
// reflectors are UDP servers: IP literals here (a name is looked up, see the last tests).

const base: DaemonOptions = { home: '/nonexistent', registry: '127.0.0.1:9000', socket: '/nonexistent.sock' };

async function parse(extra: Partial<DaemonOptions>): Promise<{ flags: RendezvousFlags; warned: string[] }> {
  const warned: string[] = [];
  const log = createLogger('warn', 'text', (line) => warned.push(line));
  return { flags: await parseRendezvousFlags({ ...base, ...extra }, log), warned };
}

describe('parseRendezvousFlags', () => {
  it('takes the first --registry and --beacon, the rest as fallbacks; defaults listen to 0.0.0.0:0', async () => {
    const { flags } = await parse({ registry: 'a:1,b:2', beacon: '10.0.0.3:3,[::1]:4' });
    // The registry is a TCP server: its host stays as given (the connection resolves a name).
    expect(flags.registry).toEqual({ host: 'a', port: 1 });
    expect(flags.fallbackRegistries).toEqual([{ host: 'b', port: 2 }]);
    expect(flags.beacon).toEqual({ address: '10.0.0.3', port: 3 });
    expect(flags.fallbackBeacons).toEqual([{ address: '::1', port: 4 }]);
    expect(flags.listen).toEqual({ host: '0.0.0.0', port: 0 });
    expect(flags.fixedEndpoint).toBeUndefined();
    expect(flags.reflectors).toBeUndefined();
  });

  it('classifies the NAT against the beacon and the first reflector, or two reflectors without a beacon', async () => {
    expect(
      (await parse({ beacon: '10.0.0.1:1', reflectors: ['10.0.0.2:2', '10.0.0.2:3'] })).flags.reflectors,
    ).toEqual([
      { protocol: 'beacon', address: '10.0.0.1', port: 1 },
      { protocol: 'stun', address: '10.0.0.2', port: 2 },
    ]);
    expect((await parse({ reflectors: ['beacon:10.0.0.5:5', '10.0.0.6:6'] })).flags.reflectors).toEqual([
      { protocol: 'beacon', address: '10.0.0.5', port: 5 },
      { protocol: 'stun', address: '10.0.0.6', port: 6 },
    ]);
  });

  it('warns that one reflector without a beacon classifies nothing', async () => {
    const { flags, warned } = await parse({ reflectors: ['10.0.0.2:2'] });
    expect(flags.reflectors).toBeUndefined();
    expect(warned.join('')).toContain('cannot classify the NAT');
  });

  it('refuses malformed flags with DAEMON_BAD_OPTION', async () => {
    await expect(parse({ registry: 'nope' })).rejects.toMatchObject({ code: 'DAEMON_BAD_OPTION' });
    await expect(parse({ endpoint: 'x:99999' })).rejects.toMatchObject({ code: 'DAEMON_BAD_OPTION' });
  });

  it('resolves a beacon or reflector host name once, in the tunnel socket family', async () => {
    // `localhost` is in /etc/hosts (no DNS server needed); the tunnel socket binds 0.0.0.0 (IPv4).
    const { flags } = await parse({
      beacon: 'localhost:9001,10.0.0.2:9001',
      reflectors: ['stun:localhost:3478'],
    });
    expect(flags.beacon).toEqual({ address: '127.0.0.1', port: 9001 });
    expect(flags.fallbackBeacons).toEqual([{ address: '10.0.0.2', port: 9001 }]);
    expect(flags.reflectors).toEqual([
      { protocol: 'beacon', address: '127.0.0.1', port: 9001 },
      { protocol: 'stun', address: '127.0.0.1', port: 3478 },
    ]);
  });

  it('refuses a beacon name that does not resolve with DAEMON_BAD_OPTION', async () => {
    // RFC 6761: a `.invalid` name never resolves.
    await expect(parse({ beacon: 'beacon.invalid:9001' })).rejects.toMatchObject({
      code: 'DAEMON_BAD_OPTION',
    });
  }, 30_000);
});
