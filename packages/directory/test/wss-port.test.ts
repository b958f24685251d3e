// `wss_port` (the `wss` extension): the registry advertises the rendezvous' TLS relay port in the
// replies that carry extensions; a client believes only a real TCP port (a registry may send anything).
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { wssPortOf } from '../src/client/directory-client.js';
import {
  createSigner,
  DirectoryClient,
  RegistryExtension,
  RegistryHandler,
  SqliteDirectoryStore,
  startDirectoryServer,
} from '../src/index.js';
import { type TestRegistry, testRegistry } from './helpers.js';

let reg: TestRegistry | undefined;
afterEach(() => {
  reg?.close();
  reg = undefined;
});

describe('wss_port (the `wss` extension)', () => {
  it('register_ok and beacon_list_ok carry the port when the registry has one, never otherwise', () => {
    let port: number | undefined = 9443;
    reg = testRegistry({ wssPort: () => port });
    expect(reg.handler.extensions).toContain(RegistryExtension.WSS);
    expect(reg.ok({ type: 'beacon_list' }).wss_port).toBe(9443);
    for (const bad of [undefined, 0, -1, 65_536, 1.5, Number.NaN]) {
      port = bad;
      expect(reg.ok({ type: 'beacon_list' })).not.toHaveProperty('wss_port');
    }
    reg.close();
    reg = testRegistry();
    expect(reg.handler.extensions).not.toContain(RegistryExtension.WSS);
    expect(reg.ok({ type: 'beacon_list' })).not.toHaveProperty('wss_port');
  });

  it('the client believes only an integer in 1..65535', () => {
    expect(wssPortOf({ wss_port: 9443 })).toBe(9443);
    expect(wssPortOf({ wss_port: 1 })).toBe(1);
    expect(wssPortOf({ wss_port: 65_535 })).toBe(65_535);
    for (const bad of [0, -1, 65_536, 1.5, '9443', null, true, [9443], { port: 9443 }, 1e300, Number.NaN])
      expect(wssPortOf({ wss_port: bad })).toBeUndefined();
    expect(wssPortOf({})).toBeUndefined();
    fc.assert(
      fc.property(fc.anything(), (value) => {
        const port = wssPortOf({ wss_port: value });
        expect(port === undefined || (Number.isInteger(port) && port >= 1 && port <= 65_535)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('register over TCP gives wssPort from our registry; none from one without it', async () => {
    for (const [options, expected] of [
      [{ wssPort: () => 4443 }, 4443],
      [{}, undefined],
    ] as const) {
      const store = new SqliteDirectoryStore({ path: ':memory:' });
      const server = await startDirectoryServer({
        handler: new RegistryHandler(store, options),
        port: 0,
        reapIntervalMs: 0,
      });
      const client = await DirectoryClient.connect({ host: '127.0.0.1', port: server.port });
      try {
        expect((await client.register(createSigner(), { listenAddr: ':4000' })).wssPort).toBe(expected);
      } finally {
        client.close();
        await server.close();
        store.close();
      }
    }
  });
});
