import { afterEach, describe, expect, it } from 'vitest';
import { Challenge, DirErrorCode } from '../src/index.js';
import { type TestRegistry, testRegistry } from './helpers.js';

let reg: TestRegistry;
afterEach(() => reg.close());

describe('trust and the handshake relay', () => {
  it('request → poll → respond creates a trust pair and queues the answer for the requester', () => {
    reg = testRegistry();
    const a = reg.node();
    const b = reg.node();
    const request = () =>
      reg.send({
        type: 'request_handshake',
        from_node_id: a.id,
        to_node_id: b.id,
        justification: 'weather data',
        ...reg.sign(a.signer, Challenge.requestHandshake(a.id, b.id)),
      });
    expect(request()).toEqual({ type: 'request_handshake_ok', status: 'pending' });
    expect(request().code).toBe(DirErrorCode.ALREADY);
    const poll = (n: typeof a) =>
      reg.ok({
        type: 'poll_handshakes',
        node_id: n.id,
        ...reg.sign(n.signer, Challenge.pollHandshakes(n.id)),
      });
    const now = Math.floor(reg.clock.now / 1000);
    expect(poll(b)).toEqual({
      type: 'poll_handshakes_ok',
      requests: [{ from_node_id: a.id, justification: 'weather data', timestamp: now }],
      responses: [],
    });
    reg.ok({
      type: 'respond_handshake',
      node_id: b.id,
      peer_id: a.id,
      accept: true,
      ...reg.sign(b.signer, Challenge.respondHandshake(b.id, a.id)),
    });
    expect(poll(a).responses).toEqual([{ from_node_id: b.id, accept: true, timestamp: now }]);
    expect(poll(a).responses).toEqual([]);
    expect(reg.ok({ type: 'check_trust', node_id: a.id, peer_id: b.id }).trusted).toBe(true);
    const unknown = reg.send({
      type: 'respond_handshake',
      node_id: b.id,
      peer_id: 99,
      accept: true,
      ...reg.sign(b.signer, Challenge.respondHandshake(b.id, 99)),
    });
    expect(unknown.code).toBe(DirErrorCode.NOT_FOUND);
  });

  it('refuses forged requests, oversized justifications and a full inbox', () => {
    reg = testRegistry({ maxHandshakeInbox: 1 });
    const a = reg.node();
    const b = reg.node();
    const c = reg.node();
    const forged = reg.send({
      type: 'request_handshake',
      from_node_id: a.id,
      to_node_id: b.id,
      ...reg.sign(c.signer, Challenge.requestHandshake(a.id, b.id)),
    });
    expect(forged.code).toBe(DirErrorCode.BAD_SIGNATURE);
    const long = reg.send({
      type: 'request_handshake',
      from_node_id: a.id,
      to_node_id: b.id,
      justification: 'x'.repeat(1025),
      ...reg.sign(a.signer, Challenge.requestHandshake(a.id, b.id)),
    });
    expect(long.code).toBe(DirErrorCode.BAD_REQUEST);
    reg.ok({
      type: 'request_handshake',
      from_node_id: a.id,
      to_node_id: b.id,
      ...reg.sign(a.signer, Challenge.requestHandshake(a.id, b.id)),
    });
    const full = reg.send({
      type: 'request_handshake',
      from_node_id: c.id,
      to_node_id: b.id,
      ...reg.sign(c.signer, Challenge.requestHandshake(c.id, b.id)),
    });
    expect(full.code).toBe(DirErrorCode.INBOX_FULL);
    const pollOther = reg.send({
      type: 'poll_handshakes',
      node_id: b.id,
      ...reg.sign(a.signer, Challenge.pollHandshakes(b.id)),
    });
    expect(pollOther.code).toBe(DirErrorCode.BAD_SIGNATURE);
  });

  it('report_trust / revoke_trust; trust pairs survive expiry', () => {
    reg = testRegistry();
    const a = reg.node();
    const b = reg.node();
    const report = reg.send({
      type: 'report_trust',
      node_id: a.id,
      peer_id: b.id,
      ...reg.sign(b.signer, Challenge.reportTrust(a.id, b.id)),
    });
    expect(report.code).toBe(DirErrorCode.BAD_SIGNATURE);
    reg.ok({
      type: 'report_trust',
      node_id: a.id,
      peer_id: b.id,
      ...reg.sign(a.signer, Challenge.reportTrust(a.id, b.id)),
    });
    expect(reg.ok({ type: 'check_trust', node_id: b.id, peer_id: a.id }).trusted).toBe(false);
    // One side alone reveals nothing: the other side's report completes the pair.
    reg.ok({
      type: 'report_trust',
      node_id: b.id,
      peer_id: a.id,
      ...reg.sign(b.signer, Challenge.reportTrust(b.id, a.id)),
    });
    expect(reg.ok({ type: 'check_trust', node_id: b.id, peer_id: a.id }).trusted).toBe(true);
    reg.clock.advance(400_000);
    reg.handler.reap();
    expect(reg.ok({ type: 'check_trust', node_id: b.id, peer_id: a.id }).trusted).toBe(true);
    expect(
      reg.send({
        type: 'report_trust',
        node_id: a.id,
        peer_id: a.id,
        ...reg.sign(a.signer, Challenge.reportTrust(a.id, a.id)),
      }).code,
    ).toBe(DirErrorCode.NOT_FOUND);
    const c = reg.node();
    const d = reg.node();
    reg.ok({
      type: 'report_trust',
      node_id: c.id,
      peer_id: d.id,
      ...reg.sign(c.signer, Challenge.reportTrust(c.id, d.id)),
    });
    // One side alone reveals nothing: the other side's report completes the pair.
    reg.ok({
      type: 'report_trust',
      node_id: d.id,
      peer_id: c.id,
      ...reg.sign(d.signer, Challenge.reportTrust(d.id, c.id)),
    });
    const revoked = reg.ok({
      type: 'revoke_trust',
      node_id: d.id,
      peer_id: c.id,
      ...reg.sign(d.signer, Challenge.revokeTrust(d.id, c.id)),
    });
    expect(revoked.removed).toBe(true);
    expect(reg.ok({ type: 'check_trust', node_id: c.id, peer_id: d.id }).trusted).toBe(false);
  });

  it('punch returns both endpoints to a participant allowed to see the other', () => {
    reg = testRegistry();
    const a = reg.node({ listen_addr: '198.51.100.1:4001' });
    const b = reg.node({ listen_addr: '198.51.100.2:4002' });
    const c = reg.node();
    const punch = (requester: typeof a, x: number, y: number) =>
      reg.send({
        type: 'punch',
        requester_id: requester.id,
        node_a: x,
        node_b: y,
        ...reg.sign(requester.signer, Challenge.punch(x, y)),
      });
    expect(punch(a, a.id, b.id).code).toBe(DirErrorCode.RESOLVE_DENIED);
    expect(punch(c, a.id, b.id).code).toBe(DirErrorCode.FORBIDDEN);
    reg.ok({
      type: 'report_trust',
      node_id: b.id,
      peer_id: a.id,
      ...reg.sign(b.signer, Challenge.reportTrust(b.id, a.id)),
    });
    expect(punch(a, a.id, b.id).code).toBe(DirErrorCode.RESOLVE_DENIED);
    // One side alone reveals nothing: the other side's report completes the pair.
    reg.ok({
      type: 'report_trust',
      node_id: a.id,
      peer_id: b.id,
      ...reg.sign(a.signer, Challenge.reportTrust(a.id, b.id)),
    });
    expect(punch(a, a.id, b.id)).toEqual({
      type: 'punch_ok',
      node_a: a.id,
      node_a_addr: '203.0.113.7:4001',
      node_b: b.id,
      node_b_addr: '203.0.113.7:4002',
    });
  });
});

describe('trust is mutual before it reveals anything (attacks)', () => {
  const resolveAs = (
    requester: { id: number; signer: Parameters<TestRegistry['sign']>[0] },
    target: number,
  ) =>
    reg.send({
      type: 'resolve',
      node_id: target,
      requester_id: requester.id,
      ...reg.sign(requester.signer, Challenge.resolve(requester.id, target)),
    });

  it('a unilateral report_trust does not let the reporter resolve, find or punch a private node', () => {
    reg = testRegistry();
    const victim = reg.node({ hostname: 'victim' });
    const attacker = reg.node();
    reg.ok({
      type: 'report_trust',
      node_id: attacker.id,
      peer_id: victim.id,
      ...reg.sign(attacker.signer, Challenge.reportTrust(attacker.id, victim.id)),
    });
    expect(resolveAs(attacker, victim.id).code).toBe(DirErrorCode.RESOLVE_DENIED);
    expect(reg.send({ type: 'resolve_hostname', hostname: 'victim', requester_id: attacker.id }).type).toBe(
      'error',
    );
    expect(reg.ok({ type: 'check_trust', node_id: attacker.id, peer_id: victim.id }).trusted).toBe(false);
    // Nor does asking (request_handshake) on its own.
    const other = reg.node();
    reg.ok({
      type: 'request_handshake',
      from_node_id: other.id,
      to_node_id: victim.id,
      justification: 'let me in',
      ...reg.sign(other.signer, Challenge.requestHandshake(other.id, victim.id)),
    });
    expect(resolveAs(other, victim.id).code).toBe(DirErrorCode.RESOLVE_DENIED);
  });

  it('a pre-approval reveals nothing until the other side asks; then the pair resolves', () => {
    reg = testRegistry();
    const target = reg.node();
    const friend = reg.node();
    reg.ok({
      type: 'report_trust',
      node_id: target.id,
      peer_id: friend.id,
      ...reg.sign(target.signer, Challenge.reportTrust(target.id, friend.id)),
    });
    expect(resolveAs(friend, target.id).code).toBe(DirErrorCode.RESOLVE_DENIED);
    reg.ok({
      type: 'request_handshake',
      from_node_id: friend.id,
      to_node_id: target.id,
      ...reg.sign(friend.signer, Challenge.requestHandshake(friend.id, target.id)),
    });
    expect(resolveAs(friend, target.id).type).toBe('resolve_ok');
    // Either side's revocation ends the pair.
    reg.ok({
      type: 'revoke_trust',
      node_id: friend.id,
      peer_id: target.id,
      ...reg.sign(friend.signer, Challenge.revokeTrust(friend.id, target.id)),
    });
    expect(resolveAs(friend, target.id).code).toBe(DirErrorCode.RESOLVE_DENIED);
  });
});
