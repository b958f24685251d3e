import { afterEach, describe, expect, it } from 'vitest';
import {
  Challenge,
  createSigner,
  DirErrorCode,
  type DirectorySigner,
  OwnerKeySwap,
  rotationProofValid,
  toBase64,
} from '../src/index.js';
import { type TestRegistry, testRegistry } from './helpers.js';

let reg: TestRegistry;
afterEach(() => reg.close());

/** The old key's signature handing node `from.id` to `newKey`. */
function proof(from: { id: number; signer: DirectorySigner }, newKey: string): string {
  return toBase64(from.signer.sign(new TextEncoder().encode(Challenge.rotationProof(from.id, newKey))));
}

describe('register', () => {
  it('hands out sequential ids from 1 and the backbone address', () => {
    reg = testRegistry();
    const a = reg.node();
    const b = reg.node();
    expect([a.id, b.id]).toEqual([1, 2]);
    const reply = reg.ok({ type: 'lookup', node_id: 2 });
    expect(reply.address).toBe('0:0000.0000.0002');
    expect(reply.networks).toEqual([0]);
  });

  it('gives a known key the same id, and reports the observed address', () => {
    reg = testRegistry();
    const signer = createSigner();
    const key = toBase64(signer.publicKey);
    const first = reg.ok({ type: 'register', public_key: key, listen_addr: ':4000' });
    const second = reg.ok({ type: 'register', public_key: key, listen_addr: ':4001' });
    expect(second.node_id).toBe(first.node_id);
    // As the reference: the connection's IP with the announced port, what peers will be given.
    expect(second.observed_addr).toBe('203.0.113.7:4001');
    expect(second.protocol_version).toBe(1);
  });

  it('requires a valid public key: a node without a key cannot exist', () => {
    reg = testRegistry();
    expect(reg.send({ type: 'register', listen_addr: ':4000' }).code).toBe(DirErrorCode.BAD_REQUEST);
    expect(reg.send({ type: 'register', public_key: 'abc', listen_addr: ':4000' }).code).toBe(
      DirErrorCode.BAD_REQUEST,
    );
    expect(reg.send({ type: 'register', public_key: toBase64(new Uint8Array(31)) }).code).toBe(
      DirErrorCode.BAD_REQUEST,
    );
  });

  it('refuses a proof-of-possession signed by another key', () => {
    reg = testRegistry();
    const victim = createSigner();
    const attacker = createSigner();
    const key = toBase64(victim.publicKey);
    const reply = reg.send({
      type: 'register',
      public_key: key,
      ...reg.sign(attacker, Challenge.register(key)),
    });
    expect(reply.code).toBe(DirErrorCode.BAD_SIGNATURE);
  });

  it('refuses an unsigned re-registration of a key that registered freshly (endpoint hijack)', () => {
    reg = testRegistry();
    const { id, signer } = reg.node();
    const key = toBase64(signer.publicKey);
    const hijack = reg.send({ type: 'register', public_key: key, listen_addr: '198.51.100.66:4000' });
    expect(hijack.code).toBe(DirErrorCode.FRESHNESS_REQUIRED);
    reg.ok({
      type: 'set_visibility',
      node_id: id,
      public: true,
      ...reg.sign(signer, Challenge.setVisibility(id)),
    });
    expect(reg.ok({ type: 'lookup', node_id: id }).real_addr).toBe('203.0.113.7:4000');
  });

  it('requireSignedRegister refuses unsigned registrations', () => {
    reg = testRegistry({ requireSignedRegister: true });
    const key = toBase64(createSigner().publicKey);
    expect(reg.send({ type: 'register', public_key: key }).code).toBe(DirErrorCode.SIGNATURE_REQUIRED);
  });

  it("hands an expired owner node to a new key only with the old key's proof, and never takes over a live node", () => {
    reg = testRegistry();
    const a = reg.node({ owner: 'ops@example.com' });
    const newKey = toBase64(createSigner().publicKey);
    const live = reg.ok({
      type: 'register',
      public_key: newKey,
      owner: 'ops@example.com',
      rotation_proof: proof(a, newKey),
    });
    expect(live.node_id).not.toBe(a.id);
    reg.clock.advance(301_000);
    // The owner string alone is no proof: a new node, not a's.
    const third = toBase64(createSigner().publicKey);
    expect(reg.ok({ type: 'register', public_key: third, owner: 'ops@example.com' }).node_id).not.toBe(a.id);
    // A proof by someone else's key (the taker's own) is no proof either.
    const taker = createSigner();
    const takerKey = toBase64(taker.publicKey);
    const forged = toBase64(taker.sign(new TextEncoder().encode(Challenge.rotationProof(a.id, takerKey))));
    expect(
      reg.ok({ type: 'register', public_key: takerKey, owner: 'ops@example.com', rotation_proof: forged })
        .node_id,
    ).not.toBe(a.id);
    // The old key's proof naming the new key recovers the node, and lookup shows it to peers.
    const fourth = toBase64(createSigner().publicKey);
    const swapped = reg.ok({
      type: 'register',
      public_key: fourth,
      owner: 'ops@example.com',
      rotation_proof: proof(a, fourth),
    });
    expect(swapped.node_id).toBe(a.id);
    const view = reg.ok({ type: 'lookup', node_id: a.id });
    expect(view.public_key).toBe(fourth);
    expect(view.previous_public_key).toBe(toBase64(a.signer.publicKey));
    expect(
      rotationProofValid(a.id, String(view.previous_public_key), fourth, String(view.rotation_proof)),
    ).toBe(true);
  });

  it('swaps always (the reference) or never, as configured, and only with a proof', () => {
    reg = testRegistry({ ownerKeySwap: OwnerKeySwap.ALWAYS });
    const a = reg.node({ owner: 'o' });
    expect(
      reg.ok({ type: 'register', public_key: toBase64(createSigner().publicKey), owner: 'o' }).node_id,
    ).not.toBe(a.id);
    const key = toBase64(createSigner().publicKey);
    expect(
      reg.ok({ type: 'register', public_key: key, owner: 'o', rotation_proof: proof(a, key) }).node_id,
    ).toBe(a.id);
    reg.close();
    reg = testRegistry({ ownerKeySwap: OwnerKeySwap.NEVER });
    const b = reg.node({ owner: 'o' });
    reg.clock.advance(301_000);
    const other = toBase64(createSigner().publicKey);
    expect(
      reg.ok({ type: 'register', public_key: other, owner: 'o', rotation_proof: proof(b, other) }).node_id,
    ).not.toBe(b.id);
  });

  it('caps the nodes per owner and the directory size', () => {
    reg = testRegistry({ maxNodesPerOwner: 2, ownerKeySwap: OwnerKeySwap.NEVER, maxNodeId: 3 });
    reg.node({ owner: 'o' });
    reg.node({ owner: 'o' });
    const third = reg.send({ type: 'register', public_key: toBase64(createSigner().publicKey), owner: 'o' });
    expect(third.code).toBe(DirErrorCode.OWNER_LIMIT);
    reg.node();
    expect(reg.send({ type: 'register', public_key: toBase64(createSigner().publicKey) }).code).toBe(
      DirErrorCode.FULL,
    );
  });

  it('takes a hostname at registration, or reports why not beside the id', () => {
    reg = testRegistry();
    const a = reg.node({ hostname: 'alpha' });
    expect(reg.ok({ type: 'lookup', node_id: a.id }).hostname).toBe('alpha');
    const signer = createSigner();
    const reply = reg.ok({ type: 'register', public_key: toBase64(signer.publicKey), hostname: 'alpha' });
    expect(reply.hostname_error).toMatch(/already taken/);
  });
});

describe('hostnames', () => {
  it('validates, reserves, keeps unique, and clears with ""', () => {
    reg = testRegistry();
    const { id, signer } = reg.node();
    const set = (hostname: string) =>
      reg.send({
        type: 'set_hostname',
        node_id: id,
        hostname,
        ...reg.sign(signer, Challenge.setHostname(id)),
      });
    expect(set('Bad_Name').code).toBe(DirErrorCode.HOSTNAME_INVALID);
    expect(set('-x').code).toBe(DirErrorCode.HOSTNAME_INVALID);
    expect(set('a'.repeat(64)).code).toBe(DirErrorCode.BAD_REQUEST);
    expect(set('localhost').code).toBe(DirErrorCode.HOSTNAME_RESERVED);
    expect(set('weather-1').type).toBe('set_hostname_ok');
    const other = reg.node();
    const squat = reg.send({
      type: 'set_hostname',
      node_id: other.id,
      hostname: 'weather-1',
      ...reg.sign(other.signer, Challenge.setHostname(other.id)),
    });
    expect(squat.code).toBe(DirErrorCode.HOSTNAME_TAKEN);
    expect(set('').type).toBe('set_hostname_ok');
    expect(reg.ok({ type: 'lookup', node_id: id }).hostname).toBeUndefined();
  });

  it('frees the name of an expired node (no squatting by the dead), not of a live one', () => {
    reg = testRegistry();
    const a = reg.node({ hostname: 'alpha' });
    const b = reg.node();
    reg.clock.advance(200_000);
    reg.ok({ type: 'heartbeat', node_id: b.id, ...reg.sign(b.signer, Challenge.heartbeat(b.id)) });
    reg.clock.advance(101_000);
    const taken = reg.send({
      type: 'set_hostname',
      node_id: b.id,
      hostname: 'alpha',
      ...reg.sign(b.signer, Challenge.setHostname(b.id)),
    });
    expect(taken.type).toBe('set_hostname_ok');
    expect(reg.send({ type: 'lookup', node_id: a.id }).code).toBe(DirErrorCode.NOT_FOUND);
  });

  it('cannot be set on another node’s record (impersonation)', () => {
    reg = testRegistry();
    const victim = reg.node({ hostname: 'bank' });
    const attacker = reg.node();
    const reply = reg.send({
      type: 'set_hostname',
      node_id: victim.id,
      hostname: 'evil',
      ...reg.sign(attacker.signer, Challenge.setHostname(victim.id)),
    });
    expect(reply.code).toBe(DirErrorCode.BAD_SIGNATURE);
    const unsigned = reg.send({ type: 'set_hostname', node_id: victim.id, hostname: 'evil' });
    expect(unsigned.code).toBe(DirErrorCode.SIGNATURE_REQUIRED);
    expect(reg.ok({ type: 'lookup', node_id: victim.id }).hostname).toBe('bank');
  });
});

describe('lookup, resolve and resolve_hostname (privacy rule)', () => {
  it('shows a private node’s key but never its endpoint to strangers', () => {
    reg = testRegistry();
    const target = reg.node({ hostname: 'hidden' });
    const stranger = reg.node();
    const view = reg.ok({ type: 'lookup', node_id: target.id });
    expect(view.public).toBe(false);
    expect(view.real_addr).toBeUndefined();
    const resolve = reg.send({
      type: 'resolve',
      node_id: target.id,
      requester_id: stranger.id,
      ...reg.sign(stranger.signer, Challenge.resolve(stranger.id, target.id)),
    });
    expect(resolve.code).toBe(DirErrorCode.RESOLVE_DENIED);
    expect(resolve.error).toMatch(/resolve denied/);
    const byName = reg.send({ type: 'resolve_hostname', hostname: 'hidden', requester_id: stranger.id });
    expect(byName.code).toBe(DirErrorCode.NOT_FOUND);
    const missing = reg.send({ type: 'resolve_hostname', hostname: 'nobody' });
    expect(missing.code).toBe(byName.code);
    expect(byName.error).toMatch(/not found/);
  });

  it('resolves for yourself, a trusted peer, a shared network, and anyone once public', () => {
    reg = testRegistry();
    const target = reg.node({ hostname: 'svc', lan_addrs: ['192.168.1.5:4000'] });
    const peer = reg.node();
    const resolve = (requester: { id: number; signer: ReturnType<typeof createSigner> }) =>
      reg.send({
        type: 'resolve',
        node_id: target.id,
        requester_id: requester.id,
        ...reg.sign(requester.signer, Challenge.resolve(requester.id, target.id)),
      });
    const self = resolve(target);
    expect(self.type).toBe('resolve_ok');
    expect(self.real_addr).toBe('203.0.113.7:4000');
    expect(self.lan_addrs).toEqual(['192.168.1.5:4000']);
    expect(self.key_age_days).toBe(0);
    expect(resolve(peer).code).toBe(DirErrorCode.RESOLVE_DENIED);
    reg.ok({
      type: 'report_trust',
      node_id: target.id,
      peer_id: peer.id,
      ...reg.sign(target.signer, Challenge.reportTrust(target.id, peer.id)),
    });
    expect(resolve(peer).code).toBe(DirErrorCode.RESOLVE_DENIED);
    // One side alone reveals nothing: the other side's report completes the pair.
    reg.ok({
      type: 'report_trust',
      node_id: peer.id,
      peer_id: target.id,
      ...reg.sign(peer.signer, Challenge.reportTrust(peer.id, target.id)),
    });
    expect(resolve(peer).type).toBe('resolve_ok');
    expect(reg.ok({ type: 'resolve_hostname', hostname: 'svc', requester_id: peer.id }).node_id).toBe(
      target.id,
    );

    const third = reg.node();
    expect(resolve(third).code).toBe(DirErrorCode.RESOLVE_DENIED);
    reg.ok({
      type: 'set_visibility',
      node_id: target.id,
      public: true,
      ...reg.sign(target.signer, Challenge.setVisibility(target.id)),
    });
    expect(resolve(third).type).toBe('resolve_ok');
    expect(reg.ok({ type: 'lookup', node_id: target.id }).real_addr).toBe('203.0.113.7:4000');
    expect(reg.ok({ type: 'resolve_hostname', hostname: 'svc' }).public).toBe(true);
  });

  it('hands out the host the registration came from, with the announced port (spec §7.3)', () => {
    reg = testRegistry();
    // A name, our loopback, an unspecified address, a third party: only the port is the node's word.
    for (const listen of ['localhost:9999', '127.0.0.1:9999', '[::]:9999', '198.51.100.1:9999', ':9999']) {
      const n = reg.node({ listen_addr: listen });
      reg.ok({
        type: 'set_visibility',
        node_id: n.id,
        public: true,
        ...reg.sign(n.signer, Challenge.setVisibility(n.id)),
      });
      expect(reg.ok({ type: 'lookup', node_id: n.id }).real_addr).toBe('203.0.113.7:9999');
      expect(
        reg.ok({
          type: 'resolve',
          node_id: n.id,
          requester_id: n.id,
          ...reg.sign(n.signer, Challenge.resolve(n.id, n.id)),
        }).real_addr,
      ).toBe('203.0.113.7:9999');
    }
    // Without a port of its own: the connection's.
    const bare = reg.node({ listen_addr: '' });
    expect(
      reg.ok({
        type: 'resolve',
        node_id: bare.id,
        requester_id: bare.id,
        ...reg.sign(bare.signer, Challenge.resolve(bare.id, bare.id)),
      }).real_addr,
    ).toBe('203.0.113.7:40000');
  });

  it('keeps loopback for a node that registered from loopback', () => {
    reg = testRegistry();
    const signer = createSigner();
    const key = toBase64(signer.publicKey);
    const reply = reg.handler.handle(
      { type: 'register', public_key: key, listen_addr: '127.0.0.1:4000', lan_addrs: ['127.0.0.1:4000'] },
      { remoteAddress: '::ffff:127.0.0.1', remotePort: 50000 },
    );
    expect(reply).toMatchObject({ type: 'register_ok', observed_addr: '127.0.0.1:4000' });
  });

  it.each([
    [{ listen_addr: 'localhost' }],
    [{ listen_addr: '198.51.100.1:65536' }],
    [{ listen_addr: 'a b:4000' }],
    [{ lan_addrs: ['printer.lan:4000'] }],
    [{ lan_addrs: ['0.0.0.0:4000'] }],
    [{ lan_addrs: ['[::]:4000'] }],
    [{ lan_addrs: ['127.0.0.1:4000'] }],
    [{ lan_addrs: ['[::ffff:127.0.0.2]:4000'] }],
    [{ lan_addrs: ['[::1]:4000'] }],
    [{ lan_addrs: ['192.168.1.5'] }],
  ])('refuses %j with DIR_BAD_ENDPOINT', (fields) => {
    reg = testRegistry();
    const key = toBase64(createSigner().publicKey);
    expect(reg.send({ type: 'register', public_key: key, ...fields }).code).toBe(DirErrorCode.BAD_ENDPOINT);
  });
});

describe('heartbeat, expiry, deregister', () => {
  it('keeps a node alive; a silent node expires after 5 minutes and must re-register', () => {
    reg = testRegistry();
    const { id, signer } = reg.node({ hostname: 'beat' });
    reg.clock.advance(240_000);
    const hb = reg.ok({ type: 'heartbeat', node_id: id, ...reg.sign(signer, Challenge.heartbeat(id)) });
    expect(hb.time).toBe(Math.floor(reg.clock.now / 1000));
    reg.clock.advance(240_000);
    expect(reg.ok({ type: 'lookup', node_id: id }).hostname).toBe('beat');
    reg.clock.advance(61_000);
    expect(reg.send({ type: 'lookup', node_id: id }).code).toBe(DirErrorCode.NOT_FOUND);
    const late = reg.send({ type: 'heartbeat', node_id: id, ...reg.sign(signer, Challenge.heartbeat(id)) });
    expect(late.code).toBe(DirErrorCode.NOT_FOUND);
    expect(late.error).toMatch(/not found/);
    expect(reg.handler.reap().expiredNodes).toBe(1);
    const key = toBase64(signer.publicKey);
    const again = reg.ok({ type: 'register', public_key: key, ...reg.sign(signer, Challenge.register(key)) });
    expect(again.node_id).toBe(id);
    expect(reg.ok({ type: 'lookup', node_id: id }).hostname).toBeUndefined();
  });

  it('deregister removes the node from view but keeps its id for its key', () => {
    reg = testRegistry();
    const { id, signer } = reg.node();
    const other = reg.node();
    const forged = reg.send({
      type: 'deregister',
      node_id: id,
      ...reg.sign(other.signer, Challenge.deregister(id)),
    });
    expect(forged.code).toBe(DirErrorCode.BAD_SIGNATURE);
    reg.ok({ type: 'deregister', node_id: id, ...reg.sign(signer, Challenge.deregister(id)) });
    expect(reg.send({ type: 'lookup', node_id: id }).code).toBe(DirErrorCode.NOT_FOUND);
    const key = toBase64(signer.publicKey);
    expect(
      reg.ok({ type: 'register', public_key: key, ...reg.sign(signer, Challenge.register(key)) }).node_id,
    ).toBe(id);
  });
});

describe('set_tags, set_visibility, rotate_key', () => {
  it('validates and deduplicates tags, at most 10', () => {
    reg = testRegistry();
    const { id, signer } = reg.node();
    const set = (tags: unknown) =>
      reg.send({ type: 'set_tags', node_id: id, tags, ...reg.sign(signer, Challenge.setTags(id)) });
    expect(set(['weather.metar', 'llm', 'llm']).tags).toEqual(['weather.metar', 'llm']);
    expect(set(['UPPER']).code).toBe(DirErrorCode.TAG_INVALID);
    expect(set(['a..b']).code).toBe(DirErrorCode.TAG_INVALID);
    expect(set(Array.from({ length: 11 }, (_, i) => `t${i}`)).code).toBe(DirErrorCode.TOO_MANY_TAGS);
    expect(set('llm').code).toBe(DirErrorCode.BAD_REQUEST);
    expect(set([1]).code).toBe(DirErrorCode.BAD_REQUEST);
    expect(reg.ok({ type: 'lookup', node_id: id }).tags).toEqual(['weather.metar', 'llm']);
  });

  it('rotates a key with the old key’s signature; the new key then signs', () => {
    reg = testRegistry();
    const { id, signer } = reg.node();
    const other = reg.node();
    const next = createSigner();
    const nextKey = toBase64(next.publicKey);
    const taken = reg.send({
      type: 'rotate_key',
      node_id: id,
      new_public_key: toBase64(other.signer.publicKey),
      ...reg.sign(signer, Challenge.rotateKey(id)),
    });
    expect(taken.code).toBe(DirErrorCode.KEY_IN_USE);
    const byNew = reg.send({
      type: 'rotate_key',
      node_id: id,
      new_public_key: nextKey,
      ...reg.sign(next, Challenge.rotateKey(id)),
    });
    expect(byNew.code).toBe(DirErrorCode.BAD_SIGNATURE);
    // A rotation proof that is not the old key naming the new one is refused.
    const badProof = reg.send({
      type: 'rotate_key',
      node_id: id,
      new_public_key: nextKey,
      rotation_proof: proof({ id, signer: next }, nextKey),
      ...reg.sign(signer, Challenge.rotateKey(id)),
    });
    expect(badProof.code).toBe(DirErrorCode.BAD_SIGNATURE);
    reg.ok({
      type: 'rotate_key',
      node_id: id,
      new_public_key: nextKey,
      rotation_proof: proof({ id, signer }, nextKey),
      ...reg.sign(signer, Challenge.rotateKey(id)),
    });
    const view = reg.ok({ type: 'lookup', node_id: id });
    expect(view.previous_public_key).toBe(toBase64(signer.publicKey));
    expect(
      rotationProofValid(id, String(view.previous_public_key), nextKey, String(view.rotation_proof)),
    ).toBe(true);
    expect(
      reg.send({ type: 'heartbeat', node_id: id, ...reg.sign(signer, Challenge.heartbeat(id)) }).code,
    ).toBe(DirErrorCode.BAD_SIGNATURE);
    reg.ok({ type: 'heartbeat', node_id: id, ...reg.sign(next, Challenge.heartbeat(id)) });
    expect(reg.ok({ type: 'lookup', node_id: id }).public_key).toBe(nextKey);
  });
});
