import { isIP } from 'node:net';
import { DirErrorCode, dirError } from '../errors.js';
import { Challenge } from '../signed-text.js';
import type { NodeRecord } from '../store/directory-store.js';
import { parseEndpoint } from '../validate.js';
import { optionalU32, u32 } from './fields.js';
import { realAddr } from './node-endpoints.js';
import type { Operation, RequestOrigin } from './op-context.js';

/** An IP as text without brackets or the IPv4-mapped prefix; undefined when it is not an IP. */
function plainIp(host: string | undefined): string | undefined {
  if (host === undefined) return undefined;
  let ip = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (ip.toLowerCase().startsWith('::ffff:') && isIP(ip.slice(7)) === 4) ip = ip.slice(7);
  return isIP(ip) === 0 || ip === '0.0.0.0' || ip === '::' ? undefined : ip;
}

/** The IPs a node is known by: its real address's host and what the registry observed. */
function nodeIps(node: NodeRecord, origin?: RequestOrigin): string[] {
  const ips = [
    plainIp(origin?.remoteAddress),
    plainIp(parseEndpoint(realAddr(node) ?? '')?.host),
    plainIp(node.observedAddr === null ? undefined : parseEndpoint(node.observedAddr)?.host),
  ];
  return [...new Set(ips.filter((ip): ip is string => ip !== undefined))];
}

/**
 * Ours (`birthday` extension). With `node_id`: the requester declares that it will birthday-probe
 * that peer (allowed only towards a node it could `resolve`) and learns the peer's IPs; the intent
 * lives in memory for a while (`birthdayIntentTtlMs`, at most `birthdayIntentsPerNode` per node).
 * Without it (or 0): the requester learns which nodes intend to reach it, and from which IPs. A
 * daemon opens a birthday burst only towards such an IP, so an unauthenticated punch command can
 * no longer make it open hundreds of sockets.
 */
const birthday: Operation = (ctx, request, origin) => {
  const requester = ctx.liveNode(u32(request, 'requester_id'), 'requester');
  const peerId = optionalU32(request, 'node_id') ?? 0;
  ctx.auth.authorise(request, requester, Challenge.birthday(requester.nodeId, peerId), ctx.now);
  if (peerId === 0) {
    return {
      type: 'birthday_ok',
      peers: ctx.limits.birthday
        .askers(requester.nodeId, ctx.now)
        .map((asker) => ({ node_id: asker.nodeId, ips: asker.ips })),
    };
  }
  if (peerId === requester.nodeId)
    throw dirError(DirErrorCode.BAD_REQUEST, 'invalid node_id: a node cannot birthday-probe itself');
  const peer = ctx.liveNode(peerId);
  if (!ctx.canSee(requester.nodeId, peer)) {
    throw dirError(
      DirErrorCode.RESOLVE_DENIED,
      'birthday denied: the node is private and not trusted by the requester',
    );
  }
  if (!ctx.limits.askBirthday(requester.nodeId, peerId, nodeIps(requester, origin), ctx.now)) {
    throw dirError(
      DirErrorCode.RATE_LIMITED,
      `birthday refused: node ${requester.nodeId} already holds ${ctx.options.birthdayIntentsPerNode} intents`,
    );
  }
  return { type: 'birthday_ok', node_id: peerId, ips: nodeIps(peer) };
};

export const BIRTHDAY_OPERATIONS: Readonly<Record<string, Operation>> = { birthday };
