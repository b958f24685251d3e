import { isPilotError } from '@pilot/wire';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createSigner,
  DirErrorCode,
  DirectoryClient,
  type DirectoryServer,
  EXTENSIONS_FIELD,
  RegistryExtension,
  RegistryHandler,
  type Reply,
  type RequestOrigin,
  SqliteDirectoryStore,
  startDirectoryServer,
} from '../src/index.js';

type Request = Record<string, unknown>;

/**
 * Our registry logic, recording every request it receives. With `advertise: false` it also strips
 * the advertisement from its replies: to a client it then looks like a reference registry (which
 * accepts the reference's challenge signatures from a node that never signed freshly, as ours does).
 */
class RecordingHandler extends RegistryHandler {
  readonly seen: Request[] = [];
  advertise = true;

  override handle(request: Request, origin?: RequestOrigin): Reply {
    this.seen.push(structuredClone(request));
    const reply = super.handle(request, origin);
    if (!this.advertise) delete reply[EXTENSIONS_FIELD];
    return reply;
  }

  types(): string[] {
    return this.seen.map((r) => String(r.type));
  }
}

const open: { server: DirectoryServer; store: SqliteDirectoryStore }[] = [];
const clients: DirectoryClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const { server, store } of open.splice(0)) {
    await server.close();
    store.close();
  }
});

async function registry(): Promise<{ handler: RecordingHandler; port: number }> {
  const store = new SqliteDirectoryStore({ path: ':memory:' });
  const handler = new RecordingHandler(store);
  const server = await startDirectoryServer({ handler, port: 0, reapIntervalMs: 0 });
  open.push({ server, store });
  return { handler, port: server.port };
}

async function client(port: number): Promise<DirectoryClient> {
  const c = await DirectoryClient.connect({ host: '127.0.0.1', port });
  clients.push(c);
  return c;
}

const isFresh = (r: Request): boolean => typeof r.timestamp === 'number' && typeof r.nonce === 'string';

describe('registry extension negotiation', () => {
  it('on our registry: reference register first, then a signed one, then fresh signatures only', async () => {
    const { handler, port } = await registry();
    const c = await client(port);
    const alice = createSigner();
    const { nodeId } = await c.register(alice, { listenAddr: '127.0.0.1:4000', hostname: 'alice' });
    await c.heartbeat(alice, nodeId);
    await c.setTags(alice, nodeId, ['weather.metar']);

    const [first, second, heartbeat, tags] = handler.seen;
    expect(first).toMatchObject({ type: 'register' });
    expect(first?.signature).toBeUndefined();
    expect(second).toMatchObject({ type: 'register' });
    expect(second !== undefined && isFresh(second)).toBe(true);
    expect(heartbeat !== undefined && isFresh(heartbeat)).toBe(true);
    expect(tags !== undefined && isFresh(tags)).toBe(true);
    // Every extension but `reflector` and `wss`, which a registry offers only beside a second
    // reflector and a TLS relay.
    expect([...c.extensions]).toEqual(
      expect.arrayContaining(
        Object.values(RegistryExtension).filter(
          (e) => e !== RegistryExtension.REFLECTOR && e !== RegistryExtension.WSS,
        ),
      ),
    );
    // The signed register made the key fresh-only: its reference-form signatures are refused now.
    expect(handler.store.getNode(nodeId)?.freshOnly).toBe(true);
  });

  it('a restarted client on our registry is refused unsigned and registers signed at once', async () => {
    const { handler, port } = await registry();
    const alice = createSigner();
    const before = await (await client(port)).register(alice, { listenAddr: '127.0.0.1:4000' });
    handler.seen.length = 0;

    const again = await client(port);
    const after = await again.register(alice, { listenAddr: '127.0.0.1:4001' });
    expect(after.nodeId).toBe(before.nodeId);
    expect(handler.seen.map((r) => r.signature === undefined)).toEqual([true, false]);
    expect(again.supports(RegistryExtension.FRESH_SIGNATURES)).toBe(true);
  });

  it('on a registry that advertises nothing: exactly the requests a reference daemon sends', async () => {
    const { handler, port } = await registry();
    handler.advertise = false;
    const c = await client(port);
    const alice = createSigner();
    const bob = createSigner();
    const a = await c.register(alice, { listenAddr: '127.0.0.1:4000', hostname: 'alice' });
    const b = await c.register(bob, { listenAddr: '127.0.0.1:4001' });
    await c.heartbeat(alice, a.nodeId);
    await c.setTags(alice, a.nodeId, ['weather']);
    await c.setVisibility(alice, a.nodeId, true);
    await c.requestHandshake(bob, b.nodeId, a.nodeId, 'hello');
    await c.pollHandshakes(alice, a.nodeId);
    await c.respondHandshake(alice, a.nodeId, b.nodeId, true);
    await c.resolve(bob, b.nodeId, a.nodeId);
    await c.listNodesAs(alice, a.nodeId, 0).catch(() => {});
    await c.reportTrust(alice, a.nodeId, b.nodeId);
    await c.revokeTrust(alice, a.nodeId, b.nodeId);

    const sent = handler.seen.length;
    const error = await c
      .find({ tags: ['weather'], as: { nodeId: a.nodeId, signer: alice } })
      .catch((e) => e);
    expect(isPilotError(error, DirErrorCode.UNSUPPORTED)).toBe(true);
    // register_ok already said (by saying nothing) that there is no extension: find sent nothing.
    expect(handler.seen.length).toBe(sent);
    // A client that has not registered asks with beacon_list (the reference's beacon sends it too).
    const fresh = await client(port);
    await expect(fresh.find({ tags: ['weather'] })).rejects.toMatchObject({ code: DirErrorCode.UNSUPPORTED });
    expect(handler.types().at(-1)).toBe('beacon_list');

    expect(c.extensions.size).toBe(0);
    // No fresh signature, no signed register, no `find`.
    expect(handler.seen.filter(isFresh)).toEqual([]);
    expect(handler.seen.filter((r) => r.type === 'register' && 'signature' in r)).toEqual([]);
    expect(handler.types()).not.toContain('find');
    expect(handler.seen.find((r) => r.type === 'list_nodes')).toEqual({ type: 'list_nodes', network_id: 0 });
    // Every signed request carried the reference's plain challenge signature, and was accepted.
    expect(
      handler.seen.filter((r) => r.type === 'heartbeat').every((r) => typeof r.signature === 'string'),
    ).toBe(true);
  });

  it('never goes back to the reference form once the registry advertised fresh signatures', async () => {
    const { handler, port } = await registry();
    const c = await client(port);
    const alice = createSigner();
    const { nodeId } = await c.register(alice, { listenAddr: '127.0.0.1:4000' });
    // From now on the "registry" (or a man in the middle) stops advertising.
    handler.advertise = false;
    await c.register(alice, { listenAddr: '127.0.0.1:4000' });
    await c.negotiate();
    handler.seen.length = 0;
    await c.heartbeat(alice, nodeId);
    await c.register(alice, { listenAddr: '127.0.0.1:4000' });
    expect(handler.seen.every(isFresh)).toBe(true);
    expect(c.supports(RegistryExtension.FRESH_SIGNATURES)).toBe(true);
  });

  it('signed find works on our registry after the beacon_list probe', async () => {
    const { handler, port } = await registry();
    const owner = await client(port);
    const alice = createSigner();
    const a = await owner.register(alice, { listenAddr: '127.0.0.1:4000', hostname: 'alice' });
    await owner.setTags(alice, a.nodeId, ['weather.metar']);

    const searcher = await client(port);
    handler.seen.length = 0;
    const { results } = await searcher.find({ tags: ['weather.*'], as: { nodeId: a.nodeId, signer: alice } });
    expect(results.map((r) => r.hostname)).toEqual(['alice']);
    expect(handler.types()).toEqual(['beacon_list', 'find']);
    expect(isFresh(handler.seen[1] ?? {})).toBe(true);
  });
});
