import { afterEach, describe, expect, it } from 'vitest';
import { Challenge, DirErrorCode } from '../src/index.js';
import { type TestRegistry, testRegistry } from './helpers.js';

let reg: TestRegistry;
afterEach(() => reg.close());

type N = ReturnType<TestRegistry['node']>;

function create(r: TestRegistry, n: N, name: string, rule: string, token?: string) {
  return r.send({
    type: 'create_network',
    node_id: n.id,
    name,
    join_rule: rule,
    ...(token === undefined ? {} : { token }),
    ...r.sign(n.signer, Challenge.createNetwork(n.id, name)),
  });
}

function join(r: TestRegistry, n: N, network: number, extra: Record<string, unknown> = {}) {
  return r.send({
    type: 'join_network',
    node_id: n.id,
    network_id: network,
    ...extra,
    ...r.sign(n.signer, Challenge.joinNetwork(n.id, network)),
  });
}

describe('networks', () => {
  it('open networks: create, join, list, share (resolve allowed), leave', () => {
    reg = testRegistry();
    const a = reg.node();
    const b = reg.node();
    const created = create(reg, a, 'lab', 'open');
    expect(created).toMatchObject({ type: 'create_network_ok', network_id: 1, name: 'lab' });
    expect(join(reg, b, 1)).toMatchObject({ type: 'join_network_ok', address: '1:0001.0000.0002' });
    expect(join(reg, b, 1).already_member).toBe(true);
    expect(reg.ok({ type: 'list_networks' }).networks).toEqual([
      { id: 1, name: 'lab', members: 2, join_rule: 'open', created: new Date(reg.clock.now).toISOString() },
    ]);
    expect(reg.ok({ type: 'lookup', node_id: b.id }).networks).toEqual([0, 1]);
    expect(reg.ok({ type: 'check_trust', node_id: a.id, peer_id: b.id }).trusted).toBe(true);
    const resolve = reg.send({
      type: 'resolve',
      node_id: a.id,
      requester_id: b.id,
      ...reg.sign(b.signer, Challenge.resolve(b.id, a.id)),
    });
    expect(resolve.type).toBe('resolve_ok');
    reg.ok({
      type: 'leave_network',
      node_id: b.id,
      network_id: 1,
      ...reg.sign(b.signer, Challenge.leaveNetwork(b.id, 1)),
    });
    expect(reg.ok({ type: 'check_trust', node_id: a.id, peer_id: b.id }).trusted).toBe(false);
    const again = reg.send({
      type: 'leave_network',
      node_id: b.id,
      network_id: 1,
      ...reg.sign(b.signer, Challenge.leaveNetwork(b.id, 1)),
    });
    expect(again.code).toBe(DirErrorCode.NOT_FOUND);
  });

  it('token networks need the token; names are unique and validated; the backbone cannot be joined', () => {
    reg = testRegistry();
    const a = reg.node();
    const b = reg.node();
    expect(create(reg, a, 'secret', 'token', 'short').code).toBe(DirErrorCode.BAD_REQUEST);
    expect(create(reg, a, 'secret', 'token', 'long-enough-token').type).toBe('create_network_ok');
    expect(create(reg, a, 'secret', 'open').code).toBe(DirErrorCode.ALREADY);
    expect(create(reg, a, 'Bad Name', 'open').code).toBe(DirErrorCode.BAD_REQUEST);
    expect(create(reg, a, 'x', 'party').code).toBe(DirErrorCode.BAD_REQUEST);
    expect(join(reg, b, 1, { token: 'wrong-token-value' }).code).toBe(DirErrorCode.BAD_TOKEN);
    expect(join(reg, b, 1).code).toBe(DirErrorCode.BAD_TOKEN);
    expect(join(reg, b, 1, { token: 'long-enough-token' }).type).toBe('join_network_ok');
    expect(join(reg, b, 0).code).toBe(DirErrorCode.FORBIDDEN);
    expect(join(reg, b, 9).code).toBe(DirErrorCode.NOT_FOUND);
  });

  it('invite networks: only members invite; the invitee joins by invite or respond_invite', () => {
    reg = testRegistry();
    const a = reg.node();
    const b = reg.node();
    const c = reg.node();
    create(reg, a, 'club', 'invite');
    expect(join(reg, b, 1).code).toBe(DirErrorCode.FORBIDDEN);
    const invite = (from: N, target: N) =>
      reg.send({
        type: 'invite_to_network',
        inviter_id: from.id,
        network_id: 1,
        target_id: target.id,
        ...reg.sign(from.signer, Challenge.invite(from.id, 1, target.id)),
      });
    expect(invite(c, b).code).toBe(DirErrorCode.FORBIDDEN);
    expect(invite(a, b).type).toBe('invite_to_network_ok');
    expect(join(reg, b, 1, { inviter_id: a.id }).type).toBe('join_network_ok');
    expect(invite(a, c).type).toBe('invite_to_network_ok');
    const polled = reg.ok({
      type: 'poll_invites',
      node_id: c.id,
      ...reg.sign(c.signer, Challenge.pollInvites(c.id)),
    });
    expect(polled.invites).toEqual([
      { network_id: 1, name: 'club', inviter_id: a.id, timestamp: Math.floor(reg.clock.now / 1000) },
    ]);
    reg.ok({
      type: 'respond_invite',
      node_id: c.id,
      network_id: 1,
      accept: true,
      ...reg.sign(c.signer, Challenge.respondInvite(c.id, 1)),
    });
    expect(reg.ok({ type: 'list_networks' }).networks).toMatchObject([{ members: 3 }]);
  });

  it('admin-only creation, as the reference, when configured', () => {
    reg = testRegistry({ networkCreation: 'admin-only', adminToken: 'root-token' });
    const a = reg.node();
    expect(create(reg, a, 'lab', 'open').code).toBe(DirErrorCode.FORBIDDEN);
    expect(
      reg.send({
        type: 'create_network',
        node_id: a.id,
        name: 'lab',
        join_rule: 'open',
        admin_token: 'root-token',
      }).type,
    ).toBe('create_network_ok');
  });

  it('list_nodes: public nodes for anyone, private members for a signed member or the admin, paginated', () => {
    reg = testRegistry({ adminToken: 'root-token' });
    const a = reg.node({ hostname: 'pub' });
    const b = reg.node();
    reg.ok({
      type: 'set_visibility',
      node_id: a.id,
      public: true,
      ...reg.sign(a.signer, Challenge.setVisibility(a.id)),
    });
    create(reg, a, 'lab', 'open');
    join(reg, b, 1);
    expect((reg.ok({ type: 'list_nodes', network_id: 0 }).nodes as unknown[]).length).toBe(1);
    expect(
      (reg.ok({ type: 'list_nodes', network_id: 0, admin_token: 'root-token' }).nodes as unknown[]).length,
    ).toBe(2);
    expect(reg.ok({ type: 'list_nodes', network_id: 1 }).nodes).toEqual([
      { node_id: 1, address: '1:0001.0000.0001', public: true, polo_score: 0, hostname: 'pub' },
    ]);
    const asMember = reg.ok({
      type: 'list_nodes',
      network_id: 1,
      requester_id: b.id,
      ...reg.sign(b.signer, Challenge.listNodes(b.id, 1)),
    });
    expect((asMember.nodes as unknown[]).length).toBe(2);
    const paged = reg.ok({ type: 'list_nodes', network_id: 0, admin_token: 'root-token', limit: 1 });
    expect(paged.next_offset).toBe(1);
    expect(reg.send({ type: 'list_nodes', network_id: 70000 }).code).toBe(DirErrorCode.BAD_REQUEST);
  });
});
