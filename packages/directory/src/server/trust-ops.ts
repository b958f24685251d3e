import { DirErrorCode, dirError } from '../errors.js';
import { Challenge } from '../signed-text.js';
import type { NodeRecord } from '../store/directory-store.js';
import { bool, optionalStr, u32 } from './fields.js';
import { realAddr } from './node-endpoints.js';
import type { OpContext, Operation } from './op-context.js';

const MAX_JUSTIFICATION = 1024;

/** A peer that exists (live or not: trust pairs outlive reaping, as in the reference). */
function existingPeer(ctx: OpContext, peerId: number, self: NodeRecord): NodeRecord {
  if (peerId === self.nodeId)
    throw dirError(DirErrorCode.BAD_REQUEST, 'invalid peer_id: a node cannot trust itself');
  const peer = ctx.store.getNode(peerId);
  if (peer === undefined) throw dirError(DirErrorCode.NOT_FOUND, `node ${peerId} not found`);
  return peer;
}

const reportTrust: Operation = (ctx, request) => {
  const node = ctx.liveNode(u32(request, 'node_id'));
  const peerId = u32(request, 'peer_id');
  ctx.auth.authorise(request, node, Challenge.reportTrust(node.nodeId, peerId), ctx.now);
  existingPeer(ctx, peerId, node);
  ctx.store.addTrust(node.nodeId, peerId, ctx.now);
  return { type: 'report_trust_ok', node_id: node.nodeId, peer_id: peerId };
};

const revokeTrust: Operation = (ctx, request) => {
  const node = ctx.liveNode(u32(request, 'node_id'));
  const peerId = u32(request, 'peer_id');
  ctx.auth.authorise(request, node, Challenge.revokeTrust(node.nodeId, peerId), ctx.now);
  const removed = ctx.store.removeTrust(node.nodeId, peerId);
  ctx.store.removeHandshakeRequest(node.nodeId, peerId);
  ctx.store.removeHandshakeRequest(peerId, node.nodeId);
  return { type: 'revoke_trust_ok', node_id: node.nodeId, peer_id: peerId, removed };
};

const checkTrust: Operation = (ctx, request) => {
  const a = u32(request, 'node_id');
  const b = u32(request, 'peer_id');
  const trusted = a !== b && (ctx.store.hasTrust(a, b) || ctx.store.shareNetwork(a, b));
  return { type: 'check_trust_ok', trusted };
};

const requestHandshake: Operation = (ctx, request) => {
  const from = ctx.liveNode(u32(request, 'from_node_id'));
  const toId = u32(request, 'to_node_id');
  const justification = optionalStr(request, 'justification', MAX_JUSTIFICATION) ?? '';
  ctx.auth.authorise(request, from, Challenge.requestHandshake(from.nodeId, toId), ctx.now);
  if (toId === from.nodeId)
    throw dirError(DirErrorCode.BAD_REQUEST, 'invalid to_node_id: cannot handshake with itself');
  const to = ctx.liveNode(toId);
  if (ctx.store.hasHandshakeRequest(to.nodeId, from.nodeId)) {
    throw dirError(DirErrorCode.ALREADY, 'handshake request already pending');
  }
  if (ctx.store.countHandshakeRequests(to.nodeId) >= ctx.options.maxHandshakeInbox) {
    ctx.limits.counters.requestInboxFull++;
    throw dirError(DirErrorCode.INBOX_FULL, 'handshake inbox full');
  }
  ctx.store.addHandshakeRequest(to.nodeId, { fromNodeId: from.nodeId, justification, at: ctx.now });
  // Asking is the asker's half of the pair: a pre-approval by the target completes it.
  ctx.store.addTrust(from.nodeId, to.nodeId, ctx.now);
  return { type: 'request_handshake_ok', status: 'pending' };
};

const pollHandshakes: Operation = (ctx, request) => {
  const node = ctx.liveNode(u32(request, 'node_id'));
  ctx.auth.authorise(request, node, Challenge.pollHandshakes(node.nodeId), ctx.now);
  const { requests, responses } = ctx.store.takeHandshakes(node.nodeId);
  return {
    type: 'poll_handshakes_ok',
    requests: requests.map((r) => ({
      from_node_id: r.fromNodeId,
      justification: r.justification,
      timestamp: Math.floor(r.at / 1000),
    })),
    responses: responses.map((r) => ({
      from_node_id: r.fromNodeId,
      accept: r.accept,
      timestamp: Math.floor(r.at / 1000),
    })),
  };
};

const respondHandshake: Operation = (ctx, request) => {
  const node = ctx.liveNode(u32(request, 'node_id'));
  const peerId = u32(request, 'peer_id');
  const accept = bool(request, 'accept');
  ctx.auth.authorise(request, node, Challenge.respondHandshake(node.nodeId, peerId), ctx.now);
  // Polling already cleared the request (as in the reference), so none need be pending here. An
  // accept is the responder's half of the pair; the requester's half was its request (or its own
  // report): one side alone reveals nothing.
  ctx.store.removeHandshakeRequest(node.nodeId, peerId);
  if (peerId === node.nodeId || ctx.store.getNode(peerId) === undefined) {
    throw dirError(DirErrorCode.NOT_FOUND, `node ${peerId} not found`);
  }
  if (ctx.store.countHandshakeResponses(peerId) >= ctx.options.maxHandshakeResponses) {
    ctx.limits.counters.responseInboxFull++;
    throw dirError(DirErrorCode.INBOX_FULL, 'handshake response inbox full');
  }
  if (accept) ctx.store.addTrust(node.nodeId, peerId, ctx.now);
  ctx.store.addHandshakeResponse(peerId, { fromNodeId: node.nodeId, accept, at: ctx.now });
  return { type: 'respond_handshake_ok', node_id: node.nodeId, peer_id: peerId, accepted: accept };
};

const punch: Operation = (ctx, request) => {
  const requester = ctx.liveNode(u32(request, 'requester_id'), 'requester');
  const a = u32(request, 'node_a');
  const b = u32(request, 'node_b');
  ctx.auth.authorise(request, requester, Challenge.punch(a, b), ctx.now);
  if (requester.nodeId !== a && requester.nodeId !== b) {
    throw dirError(DirErrorCode.FORBIDDEN, 'punch denied: the requester must be one of the two nodes');
  }
  const nodeA = ctx.liveNode(a);
  const nodeB = ctx.liveNode(b);
  const other = requester.nodeId === a ? nodeB : nodeA;
  if (!ctx.canSee(requester.nodeId, other)) {
    throw dirError(
      DirErrorCode.RESOLVE_DENIED,
      'punch denied: the peer is private and not trusted by the requester',
    );
  }
  return {
    type: 'punch_ok',
    node_a: a,
    node_a_addr: realAddr(nodeA),
    node_b: b,
    node_b_addr: realAddr(nodeB),
  };
};

export const TRUST_OPERATIONS: Readonly<Record<string, Operation>> = {
  report_trust: reportTrust,
  revoke_trust: revokeTrust,
  check_trust: checkTrust,
  request_handshake: requestHandshake,
  poll_handshakes: pollHandshakes,
  respond_handshake: respondHandshake,
  punch,
};
