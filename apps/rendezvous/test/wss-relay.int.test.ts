// `pilot-rendezvous --wss-addr`: the beacon's relay over WebSocket-over-TLS, with the registry's
// certificate and node keys, between two nodes registered with the real program.
import { generateIdentity, type Identity } from '@pilot/crypto';
import { DirectoryClient, signerFromIdentity } from '@pilot/directory/client';
import { TlsRelayLink } from '@pilot/nat';
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, type Program, startProgram } from './program.js';

const children: Program[] = [];
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  killAll(children);
});

describe('pilot-rendezvous --wss-addr', () => {
  it('serves it by default, advertises wss_port, relays between registered nodes pinned to the registry certificate', async () => {
    // No --wss-addr: on by default on the registry's host (port 0 here, as the registry's).
    const program = await startProgram(
      ['--registry-addr', '127.0.0.1:0', '--beacon-addr', '127.0.0.1:0', '--store', ':memory:'],
      children,
    );
    const { registry, fingerprint, wss } = program.announce as {
      registry: string;
      fingerprint: string;
      wss: string;
    };
    expect(wss).toMatch(/^127\.0\.0\.1:\d+$/);
    const [host, port] = [registry.split(':')[0] as string, Number(registry.split(':')[1])];
    const client = await DirectoryClient.connect({ host, port, tls: { pin: fingerprint } });
    cleanups.push(() => client.close());
    const identities: Identity[] = [generateIdentity(), generateIdentity()];
    const nodes: number[] = [];
    for (const identity of identities) {
      const registered = await client.register(signerFromIdentity(identity), { listenAddr: ':4000' });
      // What daemons learn at registration: the TLS relay's port (the `wss` extension).
      expect(registered.wssPort).toBe(Number(wss.split(':')[1]));
      nodes.push(registered.nodeId);
    }
    const got: Array<[number, Uint8Array]> = [];
    const links = identities.map(
      (identity, i) =>
        new TlsRelayLink({
          host: '127.0.0.1',
          port: Number(wss.split(':')[1]),
          identity,
          node: nodes[i] as number,
          tls: { pin: fingerprint },
          onDeliver: (source, frame) => got.push([source, new Uint8Array(frame)]),
        }),
    );
    for (const link of links) cleanups.push(() => link.close());
    await Promise.all(links.map((link) => link.ready(10_000)));
    expect(links[0]?.send(nodes[1] as number, Uint8Array.of(0x50, 1, 2))).toBe(true);
    const deadline = Date.now() + 5000;
    while (got.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(got).toEqual([[nodes[0], Uint8Array.of(0x50, 1, 2)]]);
  });

  it('refuses --wss-addr with --tls=false', async () => {
    const { parseCommandLine } = await import('../src/config.js');
    expect(() => parseCommandLine(['--wss-addr', ':443', '--tls=false'])).toThrow(/contradicts --tls=false/);
  });

  it('is on by default with TLS only, at the registry host and port 9443; off turns it off', async () => {
    const { parseCommandLine } = await import('../src/config.js');
    const config = (argv: string[]) => {
      const parsed = parseCommandLine(argv);
      if (parsed.kind !== 'run') throw new Error('not a run');
      return parsed.config;
    };
    expect(config(['--registry-addr', '10.0.0.1:7000'])).toMatchObject({
      wssAddr: { host: '10.0.0.1', port: 9443 },
      wssAddrDefault: true,
    });
    expect(config(['--registry-addr', '127.0.0.1:0']).wssAddr).toEqual({ host: '127.0.0.1', port: 0 });
    expect(config(['--wss-addr', 'off'])).toMatchObject({ wssAddr: undefined, wssAddrDefault: false });
    expect(config(['--tls=false']).wssAddr).toBeUndefined();
    expect(config(['--tls=false', '--wss-addr', 'off']).wssAddr).toBeUndefined();
    expect(config(['--wss-addr', ':8443'])).toMatchObject({ wssAddr: { port: 8443 }, wssAddrDefault: false });
  });
});
