import { formatAddress, WellKnownPort } from '@pilot/wire';
import { readBytes, withTimeout, writeAll } from './stream-io.js';
import {
  array,
  boolean,
  integer,
  type JsonSchema,
  number,
  object,
  openObject,
  PEER,
  type PilotTool,
  READ_ONLY,
  string,
} from './tool-definition.js';
import { ToolFailure } from './tool-error.js';

const ADDRESS = string("the peer's virtual address, N:NNNN.HHHH.LLLL");
const NODE_ID = integer('the node ID');
const OPEN_READ = { ...READ_ONLY, openWorldHint: true } as const;
const LOCAL_READ = { ...READ_ONLY, openWorldHint: false } as const;

const info: PilotTool = {
  name: 'pilot_info',
  title: 'This node',
  description:
    "This agent's own Pilot node: its address, node ID, hostname, visibility, how many peers and connections it has, and the registry it uses. Call it first to learn your own address (to tell others).",
  inputSchema: object({}),
  outputSchema: openObject(
    {
      address: ADDRESS,
      node_id: NODE_ID,
      hostname: string('the hostname ("" when none)'),
      public: boolean('whether any node may find and reach this one (else only trusted ones)'),
      peers: integer('tunnels to peers'),
      connections: integer('open streams'),
      registry: string('the registry host:port'),
      tags: array(string('tag')),
      version: string('daemon version'),
      uptime_secs: number('seconds since the daemon started'),
    },
    ['address', 'node_id', 'hostname', 'public', 'peers', 'connections'],
  ),
  annotations: LOCAL_READ,
  async run({ node }) {
    const i = await node.info();
    return {
      address: i.address,
      node_id: i.node_id,
      hostname: i.hostname ?? '',
      public: i.public === true,
      peers: i.peers ?? i.peer_list?.length ?? 0,
      connections: i.connections ?? i.conn_list?.length ?? 0,
      ...(typeof i.registry === 'string' ? { registry: i.registry } : {}),
      ...(Array.isArray(i.tags) ? { tags: [...i.tags] } : {}),
      ...(typeof i.version === 'string' ? { version: i.version } : {}),
      ...(typeof i.uptime_secs === 'number' ? { uptime_secs: i.uptime_secs } : {}),
    };
  },
};

const find: PilotTool<{ hostname: string }> = {
  name: 'pilot_find',
  title: 'Find a node by hostname',
  description:
    'Resolve a hostname to its address through the registry. A private node is found only by the nodes it trusts (else not_found / not_trusted). To find nodes by what they can do, use pilot_search or pilot_discover_tools.',
  inputSchema: object({ hostname: string('the hostname', { minLength: 1, maxLength: 63 }) }, ['hostname']),
  outputSchema: object(
    { address: ADDRESS, node_id: NODE_ID, hostname: string('the hostname'), public: boolean('public node') },
    ['address', 'node_id', 'hostname', 'public'],
  ),
  annotations: OPEN_READ,
  async run({ node }, { hostname }) {
    const host = await (await node.control()).resolveHostname(hostname.toLowerCase(), { timeoutMs: 30_000 });
    return {
      address: host.address,
      node_id: host.node_id,
      hostname: host.hostname ?? hostname,
      public: host.public === true,
    };
  },
};

const lookup: PilotTool<{ node: string }> = {
  name: 'pilot_lookup',
  title: 'Registry record of a node',
  description:
    "The registry's record of a node: address, hostname, visibility, capability tags, public key and networks. More than pilot_find: use it to check a peer's identity (public key) or what it advertises.",
  inputSchema: object({ node: PEER }, ['node']),
  outputSchema: object(
    {
      node_id: NODE_ID,
      address: ADDRESS,
      hostname: string('hostname ("" when none)'),
      public: boolean('public node'),
      tags: array(string('tag'), 'capability tags'),
      public_key: string('Ed25519 public key, base64'),
      networks: array(integer('network ID')),
    },
    ['node_id', 'address', 'hostname', 'public', 'tags', 'public_key', 'networks'],
  ),
  annotations: OPEN_READ,
  async run({ node }, args) {
    const address = await node.resolve(args.node);
    const record = await node.withRegistry((client) => client.lookup(address.node));
    return {
      node_id: record.nodeId,
      address: record.address,
      hostname: record.hostname ?? '',
      public: record.public,
      tags: [...record.tags],
      public_key: record.publicKey,
      networks: [...record.networks],
    };
  },
};

const PEER_ROW = openObject(
  {
    node_id: NODE_ID,
    address: ADDRESS,
    endpoint: string('UDP endpoint of the tunnel'),
    path: string('direct or relay', { enum: ['direct', 'relay'] }),
    encrypted: boolean('tunnel encrypted'),
    authenticated: boolean('peer key verified'),
    trusted: boolean('this node trusts the peer'),
  },
  ['node_id', 'address', 'path', 'encrypted', 'authenticated', 'trusted'],
);

const peers: PilotTool = {
  name: 'pilot_peers',
  title: 'Peers with a tunnel',
  description:
    'The peers this node has tunnels with right now (direct or relayed), and whether it trusts each.',
  inputSchema: object({}),
  outputSchema: object({ peers: array(PEER_ROW), count: integer('how many') }, ['peers', 'count']),
  annotations: LOCAL_READ,
  async run({ node }) {
    const driver = await node.control();
    const [i, trusted] = await Promise.all([
      driver.info({ timeoutMs: 15_000 }),
      driver.trusted({ timeoutMs: 15_000 }),
    ]);
    const trustedIds = new Set(trusted.map((t) => t.node_id));
    const list = (i.peer_list ?? []).map((peer) => ({
      node_id: peer.node_id,
      address: formatAddress({ network: 0, node: peer.node_id }),
      endpoint: peer.endpoint,
      path: peer.relay === true ? 'relay' : 'direct',
      encrypted: peer.encrypted,
      authenticated: peer.authenticated,
      trusted: trustedIds.has(peer.node_id),
    }));
    return { peers: list, count: list.length };
  },
};

/** Words of a free-text query as directory tags (lower case, [a-z0-9-], at most 10). */
export function queryTags(query: string): string[] {
  const words = query
    .toLowerCase()
    .split(/[\s,]+/)
    .map((word) => word.replace(/_/g, '-').replace(/[^a-z0-9.*-]/g, ''))
    .filter((word) => word !== '' && word.length <= 63);
  return [...new Set(words)].slice(0, 10);
}

export const SEARCH_HIT: JsonSchema = object(
  {
    node_id: NODE_ID,
    address: ADDRESS,
    hostname: string('hostname ("" when none)'),
    tags: array(string('tag')),
    public: boolean('public node'),
    score: number('how many of the query tags it carries (higher first)'),
  },
  ['node_id', 'address', 'hostname', 'tags', 'public', 'score'],
);

const search: PilotTool<{ query: string; limit?: number }> = {
  name: 'pilot_search',
  title: 'Search nodes by capability tag',
  description:
    'Ask the registry which nodes carry capability tags, ranked by how many of the query\'s tags they carry. The query is one tag ("weather"), a namespace ("weather.*") or several words. You see public nodes plus the private ones that trust you.',
  inputSchema: object(
    {
      query: string('tags or words, e.g. "weather" or "get-forecast weather"', {
        minLength: 1,
        maxLength: 400,
      }),
      limit: integer('at most this many results (default 20)', 1, 100),
    },
    ['query'],
  ),
  outputSchema: object({ results: array(SEARCH_HIT), count: integer('how many') }, ['results', 'count']),
  annotations: OPEN_READ,
  async run({ node }, { query, limit }) {
    const tags = queryTags(query);
    if (tags.length === 0) throw new ToolFailure('invalid_argument', `"${query}" holds no usable tag`);
    const as = await node.searcher();
    const { results } = await node.withRegistry((client) =>
      client.find({ tags, limit: limit ?? 20, ...(as === undefined ? {} : { as }) }),
    );
    const hits = results.map((hit) => ({
      node_id: hit.nodeId,
      address: hit.address,
      hostname: hit.hostname ?? '',
      tags: [...hit.tags],
      public: hit.public,
      score: hit.score,
    }));
    return { results: hits, count: hits.length };
  },
};

const ping: PilotTool<{ peer: string; count?: number }> = {
  name: 'pilot_ping',
  title: 'Ping a peer',
  description:
    "Round trips to a peer's echo service (port 7): whether the peer is reachable, the latency, and whether the tunnel is direct or relayed. Use it when a call to a peer fails, to tell an unreachable peer from a refusing one.",
  inputSchema: object({ peer: PEER, count: integer('round trips (default 3)', 1, 10) }, ['peer']),
  outputSchema: object(
    {
      address: ADDRESS,
      node_id: NODE_ID,
      sent: integer('pings sent'),
      replies: integer('echoes received'),
      avg_ms: number('mean round trip'),
      min_ms: number('fastest'),
      max_ms: number('slowest'),
      path: string('direct or relay', { enum: ['direct', 'relay'] }),
    },
    ['address', 'node_id', 'sent', 'replies', 'avg_ms', 'min_ms', 'max_ms', 'path'],
  ),
  annotations: { ...READ_ONLY, openWorldHint: true },
  async run({ node }, { peer, count }) {
    const address = await node.resolve(peer);
    const n = count ?? 3;
    const rtts = await node.withDriver(async (driver) => {
      const stream = await driver.dial(address, WellKnownPort.ECHO, { timeoutMs: node.limits.dialTimeoutMs });
      const times: number[] = [];
      try {
        for (let seq = 1; seq <= n; seq++) {
          const payload = Buffer.from(`ping-${seq}`);
          const started = performance.now();
          await writeAll(stream, payload);
          const back = await withTimeout(
            readBytes(stream, payload.length),
            node.limits.replyTimeoutMs,
            'the echo',
          );
          if (!back.equals(payload)) break;
          times.push(Math.round((performance.now() - started) * 100) / 100);
        }
      } finally {
        stream.destroy();
      }
      return times;
    });
    if (rtts.length === 0) throw new ToolFailure('timeout', `no echo from ${formatAddress(address)}`);
    const i = await node.info();
    const relay = i.peer_list?.find((p) => p.node_id === address.node)?.relay === true;
    return {
      address: formatAddress(address),
      node_id: address.node,
      sent: n,
      replies: rtts.length,
      avg_ms: Math.round((rtts.reduce((a, b) => a + b, 0) / rtts.length) * 100) / 100,
      min_ms: Math.min(...rtts),
      max_ms: Math.max(...rtts),
      path: relay ? 'relay' : 'direct',
    };
  },
};

export const nodeTools: readonly PilotTool[] = [
  info,
  find as PilotTool,
  lookup as PilotTool,
  peers,
  search as PilotTool,
  ping as PilotTool,
];
