// The store compliance suite: the contract of `DirectoryStore`, run against every implementation
// (SQLite in store-compliance.test.ts, PostgreSQL in postgres-store.int.test.ts), so that the
// registry logic behaves the same over either. Only what the interface promises is checked: ids are
// "increasing from firstId", not "without gaps" (a PostgreSQL sequence skips rolled-back ids).
import { afterEach, describe, expect, it } from 'vitest';
import {
  createSigner,
  type DirectoryStore,
  type NewNode,
  RegistryHandler,
  signChallenge,
  toBase64,
} from '../src/index.js';

export type StoreFactory = {
  /** A new, empty store. */
  open(): Promise<DirectoryStore>;
  /** Closes `store` and opens the same database again. */
  reopen(store: DirectoryStore): Promise<DirectoryStore>;
};

const T0 = 1_700_000_000_000;

export const newNode = (publicKey: string, extra: Partial<NewNode> = {}): NewNode => ({
  publicKey,
  owner: null,
  listenAddr: ':4000',
  observedAddr: '127.0.0.1:5555',
  lanAddrs: [],
  version: null,
  freshOnly: false,
  now: T0,
  ...extra,
});

export function describeStoreCompliance(name: string, factory: StoreFactory): void {
  describe(`DirectoryStore compliance: ${name}`, () => {
    const open: DirectoryStore[] = [];
    const store = async (): Promise<DirectoryStore> => {
      const created = await factory.open();
      open.push(created);
      return created;
    };
    afterEach(() => {
      for (const s of open.splice(0)) s.close();
    });

    const create = (s: DirectoryStore, key: string, extra: Partial<NewNode> = {}): number => {
      const node = s.createNode(newNode(key, extra), 1, 1_000_000);
      if (node === undefined) throw new Error('createNode refused');
      return node.nodeId;
    };

    it('creates nodes with increasing ids from firstId, round-trips every field, refuses past maxId', async () => {
      const s = await store();
      const a = s.createNode(
        newNode('ka', { owner: 'o@x', lanAddrs: ['10.0.0.2:4000'], version: '1.2', freshOnly: true }),
        5,
        10,
      );
      expect(a).toEqual({
        nodeId: 5,
        publicKey: 'ka',
        owner: 'o@x',
        listenAddr: ':4000',
        observedAddr: '127.0.0.1:5555',
        lanAddrs: ['10.0.0.2:4000'],
        hostname: null,
        tags: [],
        public: false,
        version: '1.2',
        registeredAt: T0,
        keyChangedAt: T0,
        lastSeen: T0,
        live: true,
        freshOnly: true,
        previousKey: null,
        rotationProof: null,
      });
      const b = s.createNode(newNode('kb'), 5, 10);
      expect(b?.nodeId).toBeGreaterThan(5);
      expect(s.getNodeByKey('kb')).toEqual(b);
      expect(s.getNode(b!.nodeId)).toEqual(b);
      expect(s.createNode(newNode('kc'), 1, b!.nodeId)).toBeUndefined();
      expect(s.getNode(999)).toBeUndefined();
      expect(s.getNodeByKey('nope')).toBeUndefined();
    });

    it('patches nodes; keys and live hostnames are unique (a violation throws)', async () => {
      const s = await store();
      const a = create(s, 'ka');
      const b = create(s, 'kb');
      s.updateNode(a, {
        hostname: 'alpha',
        public: true,
        lanAddrs: ['1.2.3.4:1'],
        lastSeen: T0 + 5,
        version: null,
        previousKey: 'kp',
        rotationProof: 'proof',
      });
      expect(s.getNode(a)).toMatchObject({
        previousKey: 'kp',
        rotationProof: 'proof',
        hostname: 'alpha',
        public: true,
        lanAddrs: ['1.2.3.4:1'],
        lastSeen: T0 + 5,
      });
      expect(s.getNodeByHostname('alpha')?.nodeId).toBe(a);
      expect(() => s.transaction(() => s.updateNode(b, { hostname: 'alpha' }))).toThrow();
      expect(() => s.transaction(() => s.createNode(newNode('ka'), 1, 100))).toThrow();
      expect(s.getNode(b)?.hostname).toBeNull();
      s.updateNode(a, {});
      expect(s.getNode(a)?.hostname).toBe('alpha');
    });

    it('rolls a transaction back when its function throws, and a nested one alone', async () => {
      const s = await store();
      expect(() =>
        s.transaction(() => {
          create(s, 'k1');
          throw new Error('boom');
        }),
      ).toThrow('boom');
      expect(s.getNodeByKey('k1')).toBeUndefined();
      const result = s.transaction(() => {
        const outer = create(s, 'k2');
        expect(() =>
          s.transaction(() => {
            s.addTrust(outer, 77, T0);
            s.addTrust(77, outer, T0);
            throw new Error('inner');
          }),
        ).toThrow('inner');
        s.transaction(() => {
          s.addTrust(outer, 88, T0);
          s.addTrust(88, outer, T0);
        });
        return outer;
      });
      expect(s.getNodeByKey('k2')?.nodeId).toBe(result);
      expect(s.hasTrust(result, 77)).toBe(false);
      expect(s.hasTrust(result, 88)).toBe(true);
    });

    it('searches tags by exact match and prefix, ranked, within the viewer’s visibility', async () => {
      const s = await store();
      const pub = create(s, 'k1');
      const priv = create(s, 'k2');
      const friend = create(s, 'k3');
      const other = create(s, 'k4');
      s.updateNode(pub, { public: true, lastSeen: T0 + 10 });
      s.setTags(pub, ['weather.metar', 'llm']);
      s.setTags(priv, ['weather.taf', 'llm']);
      s.setTags(friend, ['weather.metar']);
      s.setTags(other, ['weatherx']);
      s.addTrust(friend, 100, T0);
      s.addTrust(100, friend, T0);
      const search = (exact: string[], prefixes: string[], requesterId: number | null) =>
        s
          .searchTags({ exact, prefixes, viewer: { requesterId }, liveSince: T0, limit: 10, offset: 0 })
          .map((hit) => [hit.node.nodeId, hit.score]);
      expect(search(['llm'], [], null)).toEqual([[pub, 1]]);
      expect(search(['llm', 'weather.metar'], [], null)).toEqual([[pub, 2]]);
      expect(search([], ['weather.'], priv)).toEqual([
        [pub, 1],
        [priv, 1],
      ]);
      expect(search([], ['weather.'], 100)).toEqual([
        [pub, 1],
        [friend, 1],
      ]);
      expect(s.getNode(pub)?.tags).toEqual(['weather.metar', 'llm']);
      s.setTags(pub, []);
      expect(search(['llm'], [], null)).toEqual([]);
      expect(search([], [], null)).toEqual([]);
      // Shared non-backbone network.
      s.addMember(3, priv, T0);
      s.addMember(3, 200, T0);
      expect(search(['llm'], [], 200)).toEqual([[priv, 1]]);
      expect(
        s.searchTags({
          exact: ['llm'],
          prefixes: [],
          viewer: { requesterId: 200 },
          liveSince: T0 + 1,
          limit: 10,
          offset: 0,
        }),
      ).toEqual([]);
    });

    it('expires and retires nodes: not live, hostname, tags and visibility cleared, key kept', async () => {
      const s = await store();
      const old = create(s, 'k1');
      const fresh = create(s, 'k2');
      s.updateNode(old, { hostname: 'old', public: true });
      s.setTags(old, ['a']);
      s.updateNode(fresh, { lastSeen: T0 + 1000, hostname: 'fresh' });
      expect(s.expireNodes(T0 + 500)).toBe(1);
      expect(s.expireNodes(T0 + 500)).toBe(0);
      expect(s.getNode(old)).toMatchObject({
        live: false,
        hostname: null,
        tags: [],
        public: false,
        publicKey: 'k1',
      });
      expect(s.getNodeByHostname('old')).toBeUndefined();
      expect(
        s.searchTags({
          exact: ['a'],
          prefixes: [],
          viewer: { requesterId: null },
          liveSince: 0,
          limit: 9,
          offset: 0,
        }),
      ).toEqual([]);
      s.retireNode(fresh);
      expect(s.getNode(fresh)).toMatchObject({ live: false, hostname: null });
    });

    it('lists by owner and the backbone page by page', async () => {
      const s = await store();
      const a = create(s, 'k1', { owner: 'me' });
      const b = create(s, 'k2', { owner: 'me', now: T0 + 5 });
      const c = create(s, 'k3');
      s.updateNode(c, { public: true });
      expect(s.getNodesByOwner('me', 10).map((n) => n.nodeId)).toEqual([b, a]);
      expect(s.getNodesByOwner('me', 1).map((n) => n.nodeId)).toEqual([b]);
      expect(s.countNodesByOwner('me')).toBe(2);
      s.retireNode(a);
      expect(s.countNodesByOwner('me')).toBe(1);
      expect(s.listBackbone({ liveSince: 0, limit: 10, offset: 0 }, false).map((n) => n.nodeId)).toEqual([c]);
      expect(s.listBackbone({ liveSince: 0, limit: 10, offset: 0 }, true).map((n) => n.nodeId)).toEqual([
        b,
        c,
      ]);
      expect(s.listBackbone({ liveSince: 0, limit: 1, offset: 1 }, true).map((n) => n.nodeId)).toEqual([c]);
      expect(s.listBackbone({ liveSince: T0 + 1, limit: 10, offset: 0 }, true).map((n) => n.nodeId)).toEqual([
        b,
      ]);
    });

    it('keeps networks and their members', async () => {
      const s = await store();
      const net = s.createNetwork(
        { name: 'lab', joinRule: 'token', tokenHash: 'ab', creatorId: 1, createdAt: T0 },
        65_535,
      );
      expect(net).toMatchObject({
        name: 'lab',
        joinRule: 'token',
        tokenHash: 'ab',
        creatorId: 1,
        createdAt: T0,
      });
      const second = s.createNetwork(
        { name: 'two', joinRule: 'open', tokenHash: null, creatorId: 1, createdAt: T0 },
        65_535,
      );
      expect(second!.networkId).toBeGreaterThan(net!.networkId);
      expect(s.getNetwork(net!.networkId)).toEqual(net);
      expect(s.getNetworkByName('two')).toEqual(second);
      expect(s.getNetworkByName('none')).toBeUndefined();
      expect(() => s.transaction(() => s.createNetwork({ ...second!, name: 'lab' }, 65_535))).toThrow();
      const n1 = create(s, 'k1');
      const n2 = create(s, 'k2');
      s.addMember(net!.networkId, n1, T0);
      s.addMember(net!.networkId, n1, T0);
      s.addMember(net!.networkId, n2, T0);
      s.addMember(second!.networkId, n1, T0);
      expect(s.isMember(net!.networkId, n1)).toBe(true);
      expect(s.memberships(n1)).toEqual([net!.networkId, second!.networkId]);
      expect(s.shareNetwork(n1, n2)).toBe(true);
      expect(
        s.listMembers(net!.networkId, { liveSince: 0, limit: 10, offset: 0 }).map((n) => n.nodeId),
      ).toEqual([n1, n2]);
      expect(s.listNetworks().map((w) => [w.name, w.members])).toEqual([
        ['lab', 2],
        ['two', 1],
      ]);
      expect(s.removeMember(net!.networkId, n2)).toBe(true);
      expect(s.removeMember(net!.networkId, n2)).toBe(false);
      expect(s.shareNetwork(n1, n2)).toBe(false);
      expect(s.createNetwork({ ...net!, name: 'full' }, second!.networkId)).toBeUndefined();
    });

    it('keeps invites until taken once or expired', async () => {
      const s = await store();
      s.addInvite(5, { networkId: 1, inviterId: 2, at: T0, expiresAt: T0 + 100 });
      s.addInvite(5, { networkId: 1, inviterId: 3, at: T0 + 1, expiresAt: T0 + 200 });
      s.addInvite(5, { networkId: 2, inviterId: 3, at: T0 + 2, expiresAt: T0 + 50 });
      expect(s.countInvites(5, T0)).toBe(2);
      expect(s.listInvites(5, T0).map((i) => [i.networkId, i.inviterId])).toEqual([
        [1, 3],
        [2, 3],
      ]);
      expect(s.takeInvite(5, 2, T0 + 60)).toBeUndefined();
      expect(s.takeInvite(5, 1, T0 + 60)).toEqual({
        networkId: 1,
        inviterId: 3,
        at: T0 + 1,
        expiresAt: T0 + 200,
      });
      expect(s.takeInvite(5, 1, T0 + 60)).toBeUndefined();
      expect(s.pruneInvites(T0 + 60)).toBe(1);
      expect(s.countInvites(5, 0)).toBe(0);
    });

    it('keeps trust pairs as two reports: one side alone is no pair; either revocation ends it', async () => {
      const s = await store();
      s.addTrust(9, 4, T0);
      expect(s.hasTrust(4, 9)).toBe(false);
      expect(s.hasTrust(9, 4)).toBe(false);
      s.addTrust(4, 9, T0);
      expect(s.hasTrust(4, 9)).toBe(true);
      expect(s.hasTrust(9, 4)).toBe(true);
      expect(s.removeTrust(4, 9)).toBe(true);
      expect(s.removeTrust(9, 4)).toBe(false);
      expect(s.hasTrust(9, 4)).toBe(false);
    });

    it('keeps handshake inboxes: one request per sender, responses in order, taken once', async () => {
      const s = await store();
      s.addHandshakeRequest(1, { fromNodeId: 2, justification: 'hi', at: T0 });
      s.addHandshakeRequest(1, { fromNodeId: 2, justification: 'again', at: T0 + 2 });
      s.addHandshakeRequest(1, { fromNodeId: 3, justification: 'me', at: T0 + 1 });
      expect(s.countHandshakeRequests(1)).toBe(2);
      expect(s.hasHandshakeRequest(1, 3)).toBe(true);
      expect(s.removeHandshakeRequest(1, 3)).toBe(true);
      expect(s.removeHandshakeRequest(1, 3)).toBe(false);
      s.addHandshakeResponse(1, { fromNodeId: 7, accept: true, at: T0 + 5 });
      s.addHandshakeResponse(1, { fromNodeId: 8, accept: false, at: T0 + 4 });
      expect(s.takeHandshakes(1)).toEqual({
        requests: [{ fromNodeId: 2, justification: 'again', at: T0 + 2 }],
        responses: [
          { fromNodeId: 7, accept: true, at: T0 + 5 },
          { fromNodeId: 8, accept: false, at: T0 + 4 },
        ],
      });
      expect(s.takeHandshakes(1)).toEqual({ requests: [], responses: [] });
    });

    it('remembers nonces once per scope until they expire', async () => {
      const s = await store();
      expect(s.rememberNonce('k', 'n1', T0 + 10)).toBe(true);
      expect(s.rememberNonce('k', 'n1', T0 + 10)).toBe(false);
      expect(s.rememberNonce('other', 'n1', T0 + 10)).toBe(true);
      expect(s.pruneNonces(T0 + 10)).toBe(2);
      expect(s.rememberNonce('k', 'n1', T0 + 20)).toBe(true);
    });

    it('keeps beacons by id', async () => {
      const s = await store();
      s.upsertBeacon({ beaconId: 'b1', addr: '1.1.1.1:9001', lastSeen: T0 });
      s.upsertBeacon({ beaconId: 'b1', addr: '1.1.1.2:9001', lastSeen: T0 + 10 });
      s.upsertBeacon({ beaconId: 'b0', addr: '2.2.2.2:9001', lastSeen: T0 });
      expect(s.listBeacons(T0 + 5)).toEqual([{ beaconId: 'b1', addr: '1.1.1.2:9001', lastSeen: T0 + 10 }]);
      expect(s.listBeacons(0).map((b) => b.beaconId)).toEqual(['b0', 'b1']);
      expect(s.pruneBeacons(T0 + 5)).toBe(1);
    });

    it('keeps everything across a reopen', async () => {
      const s = await store();
      const id = create(s, 'k1');
      s.setTags(id, ['llm']);
      s.addTrust(id, 2, T0);
      s.addTrust(2, id, T0);
      const again = await factory.reopen(s);
      open.splice(open.indexOf(s), 1, again);
      expect(again.getNode(id)).toMatchObject({ publicKey: 'k1', tags: ['llm'], live: true });
      expect(again.hasTrust(2, id)).toBe(true);
      expect(create(again, 'k2')).toBeGreaterThan(id);
    });

    it('serves the registry logic: register, refuse a replay, resolve only once trusted', async () => {
      const s = await store();
      let now = T0;
      const handler = new RegistryHandler(s, { now: () => now }, (error) => {
        throw error;
      });
      const register = (signer: ReturnType<typeof createSigner>, port: number) => {
        const publicKey = toBase64(signer.publicKey);
        const signature = signChallenge(signer, `register:${publicKey}`, { nowMs: now });
        return {
          request: { type: 'register', public_key: publicKey, listen_addr: `:${port}`, ...signature },
        };
      };
      const alice = createSigner();
      const bob = createSigner();
      const ra = register(alice, 4000);
      const a = handler.handle(ra.request, { remoteAddress: '127.0.0.1' });
      expect(a.type).toBe('register_ok');
      // The same signed request again: its nonce is spent.
      expect(handler.handle(ra.request, { remoteAddress: '127.0.0.1' })).toMatchObject({
        code: 'DIR_REPLAYED',
      });
      const b = handler.handle(register(bob, 4001).request, { remoteAddress: '127.0.0.1' });
      const aId = a.node_id as number;
      const bId = b.node_id as number;
      const resolve = () =>
        handler.handle(
          {
            type: 'resolve',
            node_id: aId,
            requester_id: bId,
            ...signChallenge(bob, `resolve:${bId}:${aId}`, { nowMs: now }),
          },
          {},
        );
      expect(resolve()).toMatchObject({ code: 'DIR_RESOLVE_DENIED' });
      s.addTrust(aId, bId, now);
      // One side's report reveals nothing: only the pair does.
      expect(resolve()).toMatchObject({ code: 'DIR_RESOLVE_DENIED' });
      s.addTrust(bId, aId, now);
      expect(resolve()).toMatchObject({ type: 'resolve_ok', real_addr: '127.0.0.1:4000' });
      now += 400_000;
      expect(handler.reap().expiredNodes).toBe(2);
      expect(handler.handle({ type: 'lookup', node_id: aId })).toMatchObject({ code: 'DIR_NOT_FOUND' });
    });
  });
}
