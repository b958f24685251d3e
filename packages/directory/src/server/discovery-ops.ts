import { timingSafeEqual } from 'node:crypto';
import { DirErrorCode, dirError } from '../errors.js';
import { Challenge } from '../signed-text.js';
import type { NodeRecord } from '../store/directory-store.js';
import { parseEndpoint, parseTagQuery } from '../validate.js';
import { optionalStr, optionalU32, page, type Request, str, strArray } from './fields.js';
import { findByHostname } from './node-ops.js';
import { backboneAddress, type OpContext, type Operation, type Reply, reflectorField } from './op-context.js';

const MAX_QUERY_TERMS = 10;

/** The requester `find` speaks for: only a signed one widens the view beyond public nodes. */
function signedViewer(ctx: OpContext, request: Request): number | null {
  const requesterId = optionalU32(request, 'requester_id');
  if (requesterId === undefined) return null;
  const requester = ctx.liveNode(requesterId, 'requester');
  ctx.auth.authorise(request, requester, Challenge.find(requesterId), ctx.now);
  return requesterId;
}

function hitView(node: NodeRecord, score: number): Reply {
  const view: Reply = {
    node_id: node.nodeId,
    address: backboneAddress(node.nodeId),
    public: node.public,
    tags: node.tags,
    score,
  };
  if (node.hostname !== null) view.hostname = node.hostname;
  return view;
}

/**
 * Our extension: discovery by hostname or by capability tags ("who offers weather.metar?"). Tags
 * match exactly, or by namespace with `prefix.*`. Results are ranked by how many query tags a node
 * carries, then by how recently it was heard from, and paginated. A caller sees public nodes, plus
 * the private ones it could `resolve` when it signs as `requester_id`.
 */
const find: Operation = (ctx, request) => {
  const viewer = signedViewer(ctx, request);
  const hostname = optionalStr(request, 'hostname', 63);
  if (hostname !== undefined) {
    const node = findByHostname(ctx, hostname, viewer);
    return { type: 'find_ok', results: [hitView(node, 1)] };
  }
  const terms = strArray(request, 'tags', MAX_QUERY_TERMS, 66);
  if (terms.length === 0)
    throw dirError(DirErrorCode.BAD_REQUEST, 'invalid request: tags or hostname required');
  const exact: string[] = [];
  const prefixes: string[] = [];
  for (const term of terms) {
    const query = parseTagQuery(term);
    if ('exact' in query) exact.push(query.exact);
    else prefixes.push(query.prefix);
  }
  const { limit, offset } = page(request, 20, Math.min(100, ctx.options.maxPageSize));
  const hits = ctx.store.searchTags({
    exact,
    prefixes,
    viewer: { requesterId: viewer },
    liveSince: ctx.now - ctx.options.nodeTtlMs,
    limit: limit + 1,
    offset,
  });
  const reply: Reply = {
    type: 'find_ok',
    results: hits.slice(0, limit).map((hit) => hitView(hit.node, hit.score)),
  };
  if (hits.length > limit) reply.next_offset = offset + limit;
  return reply;
};

function beaconId(request: Request): string {
  const value = request.beacon_id;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffff_ffff)
    return String(value);
  if (typeof value === 'string' && value.length > 0 && value.length <= 64) return value;
  throw dirError(
    DirErrorCode.BAD_REQUEST,
    'invalid request: beacon_id must be a string or an unsigned integer',
  );
}

const beaconRegister: Operation = (ctx, request) => {
  const id = beaconId(request);
  const addr = str(request, 'addr', 300);
  if (parseEndpoint(addr) === undefined)
    throw dirError(DirErrorCode.BAD_REQUEST, 'invalid request: addr must be host:port');
  const expected = ctx.options.beaconToken;
  if (expected !== undefined) {
    const token = Buffer.from(typeof request.token === 'string' ? request.token : '');
    const want = Buffer.from(expected);
    if (token.length !== want.length || !timingSafeEqual(token, want)) {
      throw dirError(DirErrorCode.FORBIDDEN, 'invalid beacon token');
    }
  }
  ctx.store.upsertBeacon({ beaconId: id, addr, lastSeen: ctx.now });
  return { type: 'beacon_register_ok', beacon_id: request.beacon_id };
};

const beaconList: Operation = (ctx) => ({
  type: 'beacon_list_ok',
  beacons: ctx.store.listBeacons(ctx.now - ctx.options.beaconTtlMs).map((beacon) => ({
    beacon_id: /^\d+$/.test(beacon.beaconId) ? Number(beacon.beaconId) : beacon.beaconId,
    addr: beacon.addr,
  })),
  // A read both implementations answer: a client that has not registered learns our extensions here.
  extensions: ctx.extensions,
  ...reflectorField(ctx),
});

export const DISCOVERY_OPERATIONS: Readonly<Record<string, Operation>> = {
  find,
  beacon_register: beaconRegister,
  beacon_list: beaconList,
};
