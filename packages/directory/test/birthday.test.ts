import { afterEach, describe, expect, it } from 'vitest';
import {
  Challenge,
  createSigner,
  DirErrorCode,
  DirectoryClient,
  type DirectoryServer,
  RegistryExtension,
  RegistryHandler,
  SqliteDirectoryStore,
  startDirectoryServer,
} from '../src/index.js';
import { BirthdayIntents } from '../src/server/birthday-intents.js';
import { type TestRegistry, testRegistry } from './helpers.js';

let reg: TestRegistry | undefined;
afterEach(() => {
  reg?.close();
  reg = undefined;
});

type N = ReturnType<TestRegistry['node']>;

function birthday(r: TestRegistry, from: N, peer?: N) {
  return r.send({
    type: 'birthday',
    requester_id: from.id,
    ...(peer === undefined ? {} : { node_id: peer.id }),
    ...r.sign(from.signer, Challenge.birthday(from.id, peer?.id ?? 0)),
  });
}

/** Mutual trust (both report it), which lets each resolve the other. */
function trust(r: TestRegistry, a: N, b: N): void {
  for (const [x, y] of [
    [a, b],
    [b, a],
  ] as const)
    r.ok({
      type: 'report_trust',
      node_id: x.id,
      peer_id: y.id,
      ...r.sign(x.signer, Challenge.reportTrust(x.id, y.id)),
    });
}

describe('birthday intents (the `birthday` extension)', () => {
  it('advertised; an intent towards a visible peer gives its IPs, and the peer learns who asked', () => {
    reg = testRegistry();
    const a = reg.node();
    const b = reg.node();
    expect(reg.handler.extensions).toContain(RegistryExtension.BIRTHDAY);
    // b is private and does not trust a: no intent, nothing recorded.
    expect(birthday(reg, a, b).code).toBe(DirErrorCode.RESOLVE_DENIED);
    expect(birthday(reg, b).peers).toEqual([]);
    trust(reg, b, a);
    const intent = birthday(reg, a, b);
    expect(intent).toMatchObject({ type: 'birthday_ok', node_id: b.id, ips: ['203.0.113.7'] });
    expect(birthday(reg, b)).toEqual({
      type: 'birthday_ok',
      peers: [{ node_id: a.id, ips: ['203.0.113.7'] }],
    });
    // It lasts 30 s by default.
    reg.clock.advance(30_000);
    expect(birthday(reg, b).peers).toEqual([]);
  });

  it('needs the requester signature: a forged one records nothing', () => {
    reg = testRegistry();
    const a = reg.node();
    const b = reg.node({ public: true });
    const mallory = reg.node();
    const forged = reg.send({
      type: 'birthday',
      requester_id: a.id,
      node_id: b.id,
      ...reg.sign(mallory.signer, Challenge.birthday(a.id, b.id)),
    });
    expect(forged.type).toBe('error');
    expect(birthday(reg, b).peers).toEqual([]);
    expect(birthday(reg, a, a).code).toBe(DirErrorCode.BAD_REQUEST);
  });

  it('a node holds a few live intents at a time (the rest refused and counted)', () => {
    reg = testRegistry({ birthdayIntentsPerNode: 2 });
    const a = reg.node();
    const peers = [reg.node(), reg.node(), reg.node()];
    for (const p of peers) trust(reg, p, a);
    expect(birthday(reg, a, peers[0]).type).toBe('birthday_ok');
    expect(birthday(reg, a, peers[1]).type).toBe('birthday_ok');
    // Refreshing an existing intent is not a new one.
    expect(birthday(reg, a, peers[0]).type).toBe('birthday_ok');
    expect(birthday(reg, a, peers[2]).code).toBe(DirErrorCode.RATE_LIMITED);
    expect(reg.handler.limits.counters.birthdayIntentsLimited).toBe(1);
    reg.clock.advance(31_000);
    expect(birthday(reg, a, peers[2]).type).toBe('birthday_ok');
  });

  it('the table is bounded: the oldest intents go first', () => {
    const table = new BirthdayIntents({ ttlMs: 1000, perNode: 10, maxEntries: 3 });
    for (let i = 1; i <= 5; i++) expect(table.ask(i, 99, ['192.0.2.1'], i)).toBe(true);
    expect(table.size).toBe(3);
    expect(table.askers(99, 10).map((a) => a.nodeId)).toEqual([5, 4, 3]);
    expect(table.askers(99, 1004).map((a) => a.nodeId)).toEqual([5]);
  });
});

describe('reflector_port (the `reflector` extension)', () => {
  it('register_ok and beacon_list_ok carry the port when the registry has one, never otherwise', () => {
    let port: number | undefined = 9002;
    reg = testRegistry({ reflectorPort: () => port });
    expect(reg.handler.extensions).toContain(RegistryExtension.REFLECTOR);
    expect(reg.ok({ type: 'beacon_list' }).reflector_port).toBe(9002);
    port = undefined;
    expect(reg.ok({ type: 'beacon_list' })).not.toHaveProperty('reflector_port');
    reg.close();
    reg = testRegistry();
    expect(reg.handler.extensions).not.toContain(RegistryExtension.REFLECTOR);
    expect(reg.ok({ type: 'beacon_list' })).not.toHaveProperty('reflector_port');
  });
});

describe('over TCP with the client', () => {
  const open: { server: DirectoryServer; store: SqliteDirectoryStore }[] = [];
  const clients: DirectoryClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const { server, store } of open.splice(0)) {
      await server.close();
      store.close();
    }
  });

  it('register gives reflectorPort; birthday both ways; a registry without the extension is not asked', async () => {
    const store = new SqliteDirectoryStore({ path: ':memory:' });
    const handler = new RegistryHandler(store, { reflectorPort: () => 4242 });
    const server = await startDirectoryServer({ handler, port: 0, reapIntervalMs: 0 });
    open.push({ server, store });
    const sa = createSigner();
    const sb = createSigner();
    const [ca, cb] = await Promise.all(
      [sa, sb].map(async () => {
        const c = await DirectoryClient.connect({ host: '127.0.0.1', port: server.port });
        clients.push(c);
        return c;
      }),
    );
    if (ca === undefined || cb === undefined) throw new Error('clients');
    const a = await ca.register(sa, { listenAddr: ':4000' });
    const b = await cb.register(sb, { listenAddr: ':4001' });
    expect(a.reflectorPort).toBe(4242);
    await cb.setVisibility(sb, b.nodeId, true);
    const intent = await ca.birthday(sa, a.nodeId, b.nodeId);
    expect(intent.ips).toEqual(['127.0.0.1']);
    const askers = await cb.birthday(sb, b.nodeId);
    expect(askers.peers).toEqual([{ nodeId: a.nodeId, ips: ['127.0.0.1'] }]);
  });
});
