import { createHash, timingSafeEqual } from 'node:crypto';
import { formatAddress } from '@pilot/wire';
import { DirErrorCode, dirError } from '../errors.js';
import { Challenge } from '../signed-text.js';
import { JoinRule, type NetworkRecord, type NodeRecord } from '../store/directory-store.js';
import { checkNetworkName } from '../validate.js';
import { bool, optionalStr, optionalU32, page, type Request, str, u16, u32 } from './fields.js';
import type { OpContext, Operation, Reply } from './op-context.js';

const MAX_NETWORK_ID = 0xffff;

function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function tokenMatches(token: string, hash: string): boolean {
  return timingSafeEqual(Buffer.from(tokenHash(token), 'hex'), Buffer.from(hash, 'hex'));
}

function network(ctx: OpContext, networkId: number): NetworkRecord {
  if (networkId === 0)
    throw dirError(DirErrorCode.FORBIDDEN, 'invalid network: the backbone (0) has no membership to change');
  const found = ctx.store.getNetwork(networkId);
  if (found === undefined) throw dirError(DirErrorCode.NOT_FOUND, `network ${networkId} not found`);
  return found;
}

function memberView(node: NodeRecord, networkId: number): Reply {
  const view: Reply = {
    node_id: node.nodeId,
    address: formatAddress({ network: networkId, node: node.nodeId }),
    public: node.public,
    polo_score: 0,
  };
  if (node.hostname !== null) view.hostname = node.hostname;
  if (node.tags.length > 0) view.tags = node.tags;
  return view;
}

function checkNetworksPerNode(ctx: OpContext, nodeId: number): void {
  if (ctx.store.memberships(nodeId).length >= ctx.options.maxNetworksPerNode) {
    ctx.limits.counters.networksPerNodeLimited++;
    throw dirError(
      DirErrorCode.FULL,
      `node ${nodeId} is in ${ctx.options.maxNetworksPerNode} networks already (the limit)`,
    );
  }
}

const createNetwork: Operation = (ctx, request, origin) => {
  const name = str(request, 'name', 63);
  checkNetworkName(name);
  const rule = str(request, 'join_rule', 16);
  if (rule !== JoinRule.OPEN && rule !== JoinRule.TOKEN && rule !== JoinRule.INVITE) {
    throw dirError(DirErrorCode.BAD_REQUEST, 'invalid join_rule: open, token or invite');
  }
  const token = optionalStr(request, 'token', 256) ?? '';
  if (rule === JoinRule.TOKEN && token.length < 8) {
    throw dirError(
      DirErrorCode.BAD_REQUEST,
      'invalid token: a token network needs a token of at least 8 characters',
    );
  }
  const admin = ctx.auth.isAdmin(request);
  const nodeId = optionalU32(request, 'node_id');
  let creator: NodeRecord | undefined;
  if (!admin) {
    if (ctx.options.networkCreation === 'admin-only') {
      throw dirError(DirErrorCode.FORBIDDEN, 'admin token required to create a network');
    }
    if (nodeId === undefined) throw dirError(DirErrorCode.BAD_REQUEST, 'invalid request: node_id required');
    creator = ctx.liveNode(nodeId);
    // The budgets first (cheap), the signature after (an Ed25519 verification and a nonce write):
    // a flood over the budget is refused before it costs a verification. Only a verified request
    // takes from the budget (below), so a stranger cannot spend a node's budget.
    checkNetworksPerNode(ctx, creator.nodeId);
    if (!ctx.limits.canCreateNetwork(creator.nodeId, origin.remoteAddress, ctx.now)) {
      throw dirError(DirErrorCode.RATE_LIMITED, 'request failed: network creation budget spent, try later');
    }
    ctx.auth.authorise(request, creator, Challenge.createNetwork(creator.nodeId, name), ctx.now);
  } else if (nodeId !== undefined && nodeId !== 0) {
    creator = ctx.liveNode(nodeId);
  }
  if (ctx.store.getNetworkByName(name) !== undefined) {
    throw dirError(DirErrorCode.ALREADY, `network "${name}" already exists`);
  }
  if (creator !== undefined && !admin) {
    // Each network holds one of 65,535 IDs for good: a node (and a source IP) creates few.
    checkNetworksPerNode(ctx, creator.nodeId);
    if (!ctx.limits.takeNetworkCreation(creator.nodeId, origin.remoteAddress, ctx.now)) {
      throw dirError(DirErrorCode.RATE_LIMITED, 'request failed: network creation budget spent, try later');
    }
  }
  const created = ctx.store.createNetwork(
    {
      name,
      joinRule: rule,
      tokenHash: rule === JoinRule.TOKEN ? tokenHash(token) : null,
      creatorId: creator?.nodeId ?? 0,
      createdAt: ctx.now,
    },
    MAX_NETWORK_ID,
  );
  if (created === undefined) throw dirError(DirErrorCode.FULL, 'no network id left');
  if (creator !== undefined) ctx.store.addMember(created.networkId, creator.nodeId, ctx.now);
  return { type: 'create_network_ok', network_id: created.networkId, name, join_rule: rule };
};

const joinNetwork: Operation = (ctx, request) => {
  const node = ctx.liveNode(u32(request, 'node_id'));
  const networkId = u16(request, 'network_id');
  const proof = ctx.auth.authorise(request, node, Challenge.joinNetwork(node.nodeId, networkId), ctx.now);
  const net = network(ctx, networkId);
  const reply: Reply = {
    type: 'join_network_ok',
    network_id: networkId,
    address: formatAddress({ network: networkId, node: node.nodeId }),
  };
  if (ctx.store.isMember(networkId, node.nodeId)) return { ...reply, already_member: true };
  if (proof !== 'admin') {
    if (net.joinRule === JoinRule.TOKEN) {
      const token = optionalStr(request, 'token', 256) ?? '';
      if (net.tokenHash === null || !tokenMatches(token, net.tokenHash)) {
        throw dirError(DirErrorCode.BAD_TOKEN, 'invalid token for this network');
      }
    } else if (net.joinRule === JoinRule.INVITE) {
      if (ctx.store.takeInvite(node.nodeId, networkId, ctx.now) === undefined) {
        throw dirError(DirErrorCode.FORBIDDEN, 'invite required: no pending invite to this network');
      }
    }
    checkNetworksPerNode(ctx, node.nodeId);
  }
  ctx.store.addMember(networkId, node.nodeId, ctx.now);
  return reply;
};

const leaveNetwork: Operation = (ctx, request) => {
  const node = ctx.liveNode(u32(request, 'node_id'));
  const networkId = u16(request, 'network_id');
  ctx.auth.authorise(request, node, Challenge.leaveNetwork(node.nodeId, networkId), ctx.now);
  network(ctx, networkId);
  if (!ctx.store.removeMember(networkId, node.nodeId)) {
    throw dirError(DirErrorCode.NOT_FOUND, `node ${node.nodeId} is not a member: membership not found`);
  }
  return { type: 'leave_network_ok', network_id: networkId };
};

const inviteToNetwork: Operation = (ctx, request) => {
  const inviter = ctx.liveNode(u32(request, 'inviter_id'), 'inviter');
  const networkId = u16(request, 'network_id');
  const targetId = u32(request, 'target_id');
  const proof = ctx.auth.authorise(
    request,
    inviter,
    Challenge.invite(inviter.nodeId, networkId, targetId),
    ctx.now,
  );
  network(ctx, networkId);
  if (proof !== 'admin' && !ctx.store.isMember(networkId, inviter.nodeId)) {
    throw dirError(DirErrorCode.FORBIDDEN, 'invite denied: the inviter is not a member of the network');
  }
  const target = ctx.liveNode(targetId);
  if (ctx.store.countInvites(target.nodeId, ctx.now) >= ctx.options.maxInviteInbox) {
    throw dirError(DirErrorCode.INBOX_FULL, 'invite inbox full');
  }
  ctx.store.addInvite(target.nodeId, {
    networkId,
    inviterId: inviter.nodeId,
    at: ctx.now,
    expiresAt: ctx.now + ctx.options.inviteTtlMs,
  });
  return { type: 'invite_to_network_ok', network_id: networkId, target_id: target.nodeId };
};

const pollInvites: Operation = (ctx, request) => {
  const node = ctx.liveNode(u32(request, 'node_id'));
  ctx.auth.authorise(request, node, Challenge.pollInvites(node.nodeId), ctx.now);
  const invites = ctx.store.listInvites(node.nodeId, ctx.now).map((invite) => ({
    network_id: invite.networkId,
    name: ctx.store.getNetwork(invite.networkId)?.name ?? '',
    inviter_id: invite.inviterId,
    timestamp: Math.floor(invite.at / 1000),
  }));
  return { type: 'poll_invites_ok', invites };
};

const respondInvite: Operation = (ctx, request) => {
  const node = ctx.liveNode(u32(request, 'node_id'));
  const networkId = u16(request, 'network_id');
  const accept = bool(request, 'accept');
  ctx.auth.authorise(request, node, Challenge.respondInvite(node.nodeId, networkId), ctx.now);
  if (ctx.store.takeInvite(node.nodeId, networkId, ctx.now) === undefined) {
    throw dirError(DirErrorCode.NOT_FOUND, 'invite not found');
  }
  if (accept) ctx.store.addMember(networkId, node.nodeId, ctx.now);
  return { type: 'respond_invite_ok', network_id: networkId, accepted: accept };
};

const listNetworks: Operation = (ctx) => ({
  type: 'list_networks_ok',
  networks: ctx.store.listNetworks().map((net) => ({
    id: net.networkId,
    name: net.name,
    members: net.members,
    join_rule: net.joinRule,
    created: new Date(net.createdAt).toISOString(),
  })),
});

/** May this request see the private members of a network? The admin, or a signed member. */
function seesPrivateMembers(ctx: OpContext, request: Request, networkId: number): boolean {
  if (ctx.auth.isAdmin(request)) return true;
  const requesterId = optionalU32(request, 'requester_id');
  if (requesterId === undefined || networkId === 0) return false;
  const requester = ctx.liveNode(requesterId, 'requester');
  ctx.auth.authorise(request, requester, Challenge.listNodes(requesterId, networkId), ctx.now);
  return ctx.store.isMember(networkId, requesterId);
}

const listNodes: Operation = (ctx, request) => {
  const networkId = u16(request, 'network_id');
  const { limit, offset } = page(request, ctx.options.maxPageSize, ctx.options.maxPageSize);
  const liveSince = ctx.now - ctx.options.nodeTtlMs;
  const all = seesPrivateMembers(ctx, request, networkId);
  let nodes: NodeRecord[];
  if (networkId === 0) {
    nodes = ctx.store.listBackbone({ liveSince, limit: limit + 1, offset }, all);
  } else {
    network(ctx, networkId);
    nodes = ctx.store.listMembers(networkId, { liveSince, limit: limit + 1, offset });
  }
  const more = nodes.length > limit;
  const shown = nodes.slice(0, limit).filter((node) => all || node.public);
  const reply: Reply = {
    type: 'list_nodes_ok',
    network_id: networkId,
    nodes: shown.map((n) => memberView(n, networkId)),
  };
  if (more) reply.next_offset = offset + limit;
  return reply;
};

export const NETWORK_OPERATIONS: Readonly<Record<string, Operation>> = {
  create_network: createNetwork,
  join_network: joinNetwork,
  leave_network: leaveNetwork,
  invite_to_network: inviteToNetwork,
  poll_invites: pollInvites,
  respond_invite: respondInvite,
  list_networks: listNetworks,
  list_nodes: listNodes,
};
