import { afterEach, describe, expect, it } from 'vitest';
import { Challenge, DirErrorCode, freshSignedText, signChallenge, toBase64 } from '../src/index.js';
import { type TestRegistry, testRegistry } from './helpers.js';

let reg: TestRegistry;
afterEach(() => reg.close());

const encoder = new TextEncoder();

describe('signed operations', () => {
  it('accepts a fresh signature once; the captured request replayed is refused', () => {
    reg = testRegistry();
    const { id, signer } = reg.node();
    const request = { type: 'heartbeat', node_id: id, ...reg.sign(signer, Challenge.heartbeat(id)) };
    expect(reg.send(request).type).toBe('heartbeat_ok');
    const replay = reg.send(request);
    expect(replay.code).toBe(DirErrorCode.REPLAYED);
  });

  it('refuses a timestamp outside ±60 s', () => {
    reg = testRegistry();
    const { id, signer } = reg.node();
    const old = { type: 'heartbeat', node_id: id, ...reg.sign(signer, Challenge.heartbeat(id)) };
    reg.clock.advance(61_000);
    expect(reg.send(old).code).toBe(DirErrorCode.STALE_SIGNATURE);
    const future = reg.sign(signer, Challenge.heartbeat(id));
    reg.clock.advance(-61_000);
    expect(reg.send({ type: 'heartbeat', node_id: id, ...future }).code).toBe(DirErrorCode.STALE_SIGNATURE);
  });

  it('binds the signature to the challenge, timestamp and nonce', () => {
    reg = testRegistry();
    const { id, signer } = reg.node();
    const fields = reg.sign(signer, Challenge.heartbeat(id));
    expect(
      reg.send({ type: 'heartbeat', node_id: id, ...fields, timestamp: (fields.timestamp ?? 0) + 1 }).code,
    ).toBe(DirErrorCode.BAD_SIGNATURE);
    expect(reg.send({ type: 'heartbeat', node_id: id, ...fields, nonce: 'A'.repeat(22) }).code).toBe(
      DirErrorCode.BAD_SIGNATURE,
    );
    expect(reg.send({ type: 'deregister', node_id: id, ...fields }).code).toBe(DirErrorCode.BAD_SIGNATURE);
    // The signed text is exactly `<challenge>:<timestamp>:<nonce>`.
    const timestamp = Math.floor(reg.clock.now / 1000);
    const nonce = 'abcdefghijklmnopqrstuv';
    const signature = toBase64(
      signer.sign(encoder.encode(freshSignedText(`heartbeat:${id}`, timestamp, nonce))),
    );
    expect(reg.send({ type: 'heartbeat', node_id: id, signature, timestamp, nonce }).type).toBe(
      'heartbeat_ok',
    );
  });

  it('rejects malformed signature fields with a typed error', () => {
    reg = testRegistry();
    const { id, signer } = reg.node();
    const fields = reg.sign(signer, Challenge.heartbeat(id));
    expect(reg.send({ type: 'heartbeat', node_id: id, signature: 42 }).code).toBe(DirErrorCode.BAD_REQUEST);
    expect(reg.send({ type: 'heartbeat', node_id: id, signature: 'x' }).code).toBe(DirErrorCode.BAD_REQUEST);
    expect(reg.send({ type: 'heartbeat', node_id: id, ...fields, nonce: 'short' }).code).toBe(
      DirErrorCode.BAD_REQUEST,
    );
    expect(reg.send({ type: 'heartbeat', node_id: id, ...fields, timestamp: '1' }).code).toBe(
      DirErrorCode.BAD_REQUEST,
    );
    expect(reg.send({ type: 'heartbeat', node_id: id }).code).toBe(DirErrorCode.SIGNATURE_REQUIRED);
    expect(reg.send({ type: 'heartbeat', node_id: id, signature: toBase64(new Uint8Array(64)) }).code).toBe(
      DirErrorCode.FRESHNESS_REQUIRED,
    );
  });

  it('accepts the reference challenge from a node that never signed freshly (compatibility)', () => {
    reg = testRegistry();
    const legacyNode = reg.node({ signature: undefined, timestamp: undefined, nonce: undefined });
    const legacy = reg.sign(legacyNode.signer, Challenge.heartbeat(legacyNode.id), true);
    expect(legacy.timestamp).toBeUndefined();
    const request = { type: 'heartbeat', node_id: legacyNode.id, ...legacy };
    expect(reg.send(request).type).toBe('heartbeat_ok');
    // The reference form is replayable by nature: that is the weakness the fresh form removes.
    expect(reg.send(request).type).toBe('heartbeat_ok');
    const forged = reg.sign(reg.node().signer, Challenge.heartbeat(legacyNode.id), true);
    expect(reg.send({ type: 'heartbeat', node_id: legacyNode.id, ...forged }).code).toBe(
      DirErrorCode.BAD_SIGNATURE,
    );
  });

  it('refuses the reference form once the node has signed freshly (no downgrade)', () => {
    reg = testRegistry();
    const n = reg.node({ signature: undefined, timestamp: undefined, nonce: undefined });
    const legacy = {
      type: 'heartbeat',
      node_id: n.id,
      ...reg.sign(n.signer, Challenge.heartbeat(n.id), true),
    };
    expect(reg.send(legacy).type).toBe('heartbeat_ok');
    reg.ok({ type: 'heartbeat', node_id: n.id, ...reg.sign(n.signer, Challenge.heartbeat(n.id)) });
    expect(reg.send(legacy).code).toBe(DirErrorCode.FRESHNESS_REQUIRED);
  });

  it('acceptLegacySignatures: false refuses every replayable challenge', () => {
    reg = testRegistry({ acceptLegacySignatures: false });
    const n = reg.node({ signature: undefined, timestamp: undefined, nonce: undefined });
    const legacy = {
      type: 'heartbeat',
      node_id: n.id,
      ...reg.sign(n.signer, Challenge.heartbeat(n.id), true),
    };
    expect(reg.send(legacy).code).toBe(DirErrorCode.FRESHNESS_REQUIRED);
    expect(
      reg.send({ type: 'heartbeat', node_id: n.id, ...reg.sign(n.signer, Challenge.heartbeat(n.id)) }).type,
    ).toBe('heartbeat_ok');
  });

  it('a replay is refused even after a restart (nonces are persisted)', () => {
    reg = testRegistry();
    const { id, signer } = reg.node();
    const request = {
      type: 'set_visibility',
      node_id: id,
      public: true,
      ...reg.sign(signer, Challenge.setVisibility(id)),
    };
    reg.ok(request);
    expect(reg.store.rememberNonce(`n:${id}`, request.nonce as string, reg.clock.now + 1000)).toBe(false);
  });

  it('the admin token acts for any node; a wrong token does not', () => {
    reg = testRegistry({ adminToken: 'operator-secret' });
    const { id } = reg.node();
    expect(reg.send({ type: 'set_visibility', node_id: id, public: true, admin_token: 'nope' }).code).toBe(
      DirErrorCode.SIGNATURE_REQUIRED,
    );
    expect(
      reg.send({ type: 'set_visibility', node_id: id, public: true, admin_token: 'operator-secret' }).type,
    ).toBe('set_visibility_ok');
  });

  it('the reaper forgets nonces whose window has passed', () => {
    reg = testRegistry();
    const { id, signer } = reg.node();
    reg.ok({ type: 'heartbeat', node_id: id, ...reg.sign(signer, Challenge.heartbeat(id)) });
    reg.clock.advance(62_000);
    expect(reg.handler.reap().nonces).toBe(2);
  });
});

describe('signed values (signature version 2): attack 4', () => {
  const tamper = (request: Record<string, unknown>, changes: Record<string, unknown>) => ({
    ...request,
    ...changes,
  });

  it('a hostname, tags or visibility changed under a valid version-2 signature is refused', () => {
    reg = testRegistry();
    const { id, signer } = reg.node();
    const cases: [Record<string, unknown>, string, Record<string, unknown>][] = [
      [
        { type: 'set_hostname', node_id: id, hostname: 'good' },
        Challenge.setHostname(id),
        { hostname: 'evil' },
      ],
      [{ type: 'set_tags', node_id: id, tags: ['llm'] }, Challenge.setTags(id), { tags: ['evil'] }],
      [{ type: 'set_visibility', node_id: id, public: false }, Challenge.setVisibility(id), { public: true }],
    ];
    for (const [body, challenge, changes] of cases) {
      const signed = { ...body, ...signChallenge(signer, challenge, { values: body, nowMs: reg.clock.now }) };
      expect(signed.signature_version).toBe(2);
      // On the path: the value rewritten, the signature kept.
      expect(reg.send(tamper(signed, changes)).code).toBe(DirErrorCode.BAD_SIGNATURE);
      // Or moved to the fresh form (version dropped) so that the values would not count: refused too.
      const { signature_version: _, ...stripped } = signed;
      expect(reg.send(tamper(stripped, changes)).code).toBe(DirErrorCode.BAD_SIGNATURE);
      // The untouched request goes through.
      expect(reg.send(signed).type).toBe(`${String(body.type)}_ok`);
    }
    expect(reg.ok({ type: 'lookup', node_id: id })).toMatchObject({
      hostname: 'good',
      tags: ['llm'],
      public: false,
    });
  });

  it('before: the fresh form (version 1) covers no values, so the same tampering succeeds there', () => {
    reg = testRegistry();
    const { id, signer } = reg.node();
    const body = { type: 'set_hostname', node_id: id, hostname: 'good' };
    const signed = { ...body, ...signChallenge(signer, Challenge.setHostname(id), { nowMs: reg.clock.now }) };
    expect(reg.send(tamper(signed, { hostname: 'evil' })).type).toBe('set_hostname_ok');
    expect(reg.ok({ type: 'lookup', node_id: id }).hostname).toBe('evil');
  });

  it('an unknown signature version is refused', () => {
    reg = testRegistry();
    const { id, signer } = reg.node();
    const body = { type: 'heartbeat', node_id: id };
    const signed = {
      ...body,
      ...signChallenge(signer, Challenge.heartbeat(id), { values: body, nowMs: reg.clock.now }),
    };
    expect(reg.send({ ...signed, signature_version: 3 }).code).toBe(DirErrorCode.BAD_REQUEST);
    expect(reg.send(signed).type).toBe('heartbeat_ok');
  });
});
