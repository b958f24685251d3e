import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PeerJson } from '@pilot/daemon/driver';
import type { DirectorySigner } from '@pilot/directory/client';
import { isPilotError } from '@pilot/wire';
import { type Command, DAEMON_ERRORS, PEER_ERRORS } from '../command.js';
import type { Context } from '../context.js';
import { cliError, usageError } from '../errors.js';
import { registryClient } from '../registry.js';
import { peerPath } from './diag.js';

/**
 * This node, to sign a registry search with: the registry then also shows the private nodes that
 * trust it. Undefined (public nodes only) when no daemon runs or its identity cannot be read.
 */
async function searchingAs(
  context: Context,
): Promise<{ nodeId: number; signer: DirectorySigner } | undefined> {
  try {
    const { node_id: nodeId } = await context.info();
    // Loaded here, not at start: only `peers --search` signs (crypto is ~40 modules).
    const [{ decodeIdentityFile }, { signerFromIdentity }] = await Promise.all([
      import('@pilot/crypto'),
      import('@pilot/directory/client'),
    ]);
    const identity = decodeIdentityFile(readFileSync(join(context.home, 'identity.json'), 'utf8'));
    return { nodeId, signer: signerFromIdentity(identity) };
  } catch {
    return undefined;
  }
}

const info: Command = {
  name: 'info',
  summary: "the node's address, identity, peers, connections and counters",
  fields: [
    'address',
    'node_id',
    'hostname',
    'public',
    'pid',
    'uptime_secs',
    'peers',
    'connections',
    'peer_list',
    'conn_list',
    'registry',
    'registry_tls',
    'registry_fingerprint',
    'beacon',
    'endpoint',
    'public_key',
    'version',
  ],
  errors: DAEMON_ERRORS,
  async run(context) {
    const info = await context.info();
    const lines = [
      `address   ${info.address}`,
      `node id   ${info.node_id}`,
      `hostname  ${info.hostname || '(none)'}`,
      `public    ${info.public === true ? 'yes' : 'no'}`,
      `peers     ${info.peers ?? info.peer_list?.length ?? 0}`,
      `conns     ${info.connections ?? info.conn_list?.length ?? 0}`,
    ];
    if (info.endpoint) lines.push(`endpoint  ${info.endpoint}`);
    if (info.registry) {
      // Whether someone on the path to the registry could read or rewrite what it tells us.
      const link =
        info.registry_tls === true
          ? `TLS, certificate sha256 ${String(info.registry_fingerprint ?? '').slice(0, 16)}… (${String(info.registry_pin ?? '')})`
          : info.registry_tls === false
            ? 'plaintext'
            : '';
      lines.push(`registry  ${info.registry}${link === '' ? '' : ` (${link})`}`);
    }
    const tls = info.tls_relay as { address?: string; active?: boolean; up?: boolean } | undefined;
    if (typeof info.transport_mode === 'string' && info.transport_mode !== 'udp')
      lines.push(
        `transport ${info.transport_mode}${tls?.address ? `, TLS relay ${tls.address}` : ''}${tls?.active === true ? ` (relaying over TLS, link ${tls.up === true ? 'up' : 'down'})` : ''}`,
      );
    for (const peer of info.peer_list ?? []) lines.push(`peer      ${peerLine(peer)}`);
    if (info.pid !== undefined) lines.push(`pid       ${info.pid}`);
    return { data: { ...info, hostname: info.hostname ?? '' }, human: lines.join('\n') };
  },
};

const health: Command = {
  name: 'health',
  summary: "the daemon's health summary",
  fields: ['status', 'uptime_seconds', 'connections', 'peers', 'bytes_sent', 'bytes_recv'],
  errors: DAEMON_ERRORS,
  async run(context) {
    const health = await (await context.driver()).health({ timeoutMs: 15_000 });
    return {
      data: health,
      human: `${health.status} (up ${health.uptime_seconds ?? '?'} s, ${health.peers ?? 0} peers, ${health.connections ?? 0} connections)`,
    };
  },
};

const setHostname: Command = {
  name: 'set-hostname',
  summary: 'claim a hostname in the registry (lower-case letters, digits, hyphens)',
  args: [{ name: 'hostname', help: 'the name' }],
  fields: ['hostname'],
  errors: [...DAEMON_ERRORS, 'already_exists', 'unavailable'],
  async run(context, args) {
    const hostname = args.need('hostname');
    await (await context.driver()).setHostname(hostname, { timeoutMs: 30_000 });
    return { data: { hostname }, human: `hostname set to ${hostname}` };
  },
};

const clearHostname: Command = {
  name: 'clear-hostname',
  summary: 'give up the hostname',
  fields: ['hostname'],
  errors: [...DAEMON_ERRORS, 'unavailable'],
  async run(context) {
    await (await context.driver()).setHostname('', { timeoutMs: 30_000 });
    return { data: { hostname: '' }, human: 'hostname cleared' };
  },
};

const find: Command = {
  name: 'find',
  summary: 'look a hostname up in the registry',
  args: [{ name: 'hostname', help: 'the name' }],
  fields: ['address', 'node_id', 'hostname', 'public'],
  errors: [...DAEMON_ERRORS, 'not_found', 'unavailable'],
  async run(context, args) {
    const hostname = args.need('hostname');
    const host = await (await context.driver()).resolveHostname(hostname.toLowerCase(), {
      timeoutMs: 30_000,
    });
    const data = {
      address: host.address,
      node_id: host.node_id,
      hostname: host.hostname ?? hostname,
      public: host.public,
    };
    return { data, human: `${data.hostname} is ${data.address} (node ${data.node_id})` };
  },
};

function visibility(pub: boolean): Command {
  return {
    name: pub ? 'set-public' : 'set-private',
    summary: pub
      ? 'let any node resolve and reach this one'
      : 'only trusted nodes may resolve this one (the default)',
    fields: ['public'],
    errors: [...DAEMON_ERRORS, 'unavailable'],
    async run(context) {
      await (await context.driver()).setVisibility(pub, { timeoutMs: 30_000 });
      return { data: { public: pub }, human: pub ? 'node is public' : 'node is private' };
    },
  };
}

const setTags: Command = {
  name: 'set-tags',
  summary: "set the node's capability tags (replaces the old ones)",
  args: [{ name: 'tags', help: 'one or more tags', variadic: true }],
  fields: ['tags'],
  errors: [...DAEMON_ERRORS, 'unavailable'],
  async run(context, args) {
    const tags = args.list('tags');
    if (tags.length === 0) throw usageError('set-tags needs at least one tag (clear-tags removes them)');
    await (await context.driver()).setTags(tags, { timeoutMs: 30_000 });
    return { data: { tags }, human: `tags: ${tags.join(', ')}` };
  },
};

const clearTags: Command = {
  name: 'clear-tags',
  summary: 'remove every tag',
  fields: ['tags'],
  errors: [...DAEMON_ERRORS, 'unavailable'],
  async run(context) {
    await (await context.driver()).setTags([], { timeoutMs: 30_000 });
    return { data: { tags: [] }, human: 'tags cleared' };
  },
};

const setWebhook: Command = {
  name: 'set-webhook',
  summary: "POST the daemon's events to this URL",
  args: [{ name: 'url', help: 'http(s) URL' }],
  fields: ['webhook'],
  errors: DAEMON_ERRORS,
  async run(context, args) {
    const url = args.need('url');
    await (await context.driver()).setWebhook(url, { timeoutMs: 15_000 });
    return { data: { webhook: url }, human: `webhook set to ${url}` };
  },
};

const clearWebhook: Command = {
  name: 'clear-webhook',
  summary: 'stop posting events',
  fields: ['webhook'],
  errors: DAEMON_ERRORS,
  async run(context) {
    await (await context.driver()).setWebhook('', { timeoutMs: 15_000 });
    return { data: { webhook: '' }, human: 'webhook cleared' };
  },
};

function peerLine(peer: PeerJson): string {
  const path = peerPath(peer);
  const mtu = typeof peer.path_mtu === 'number' ? `\tmtu ${peer.path_mtu}` : '';
  return `${peer.node_id}\t${peer.endpoint}\t${path}\t${peer.encrypted ? 'encrypted' : 'plain'}${peer.authenticated ? ', authenticated' : ''}${mtu}`;
}

const peers: Command = {
  name: 'peers',
  summary: 'the peers this node has tunnels with; --search <tag> asks the registry for nodes by capability',
  flags: { search: { type: 'string', help: 'a tag or namespace (weather.*) to search the registry for' } },
  fields: ['peers', 'count', 'results'],
  errors: [...DAEMON_ERRORS, 'unavailable'],
  async run(context, args) {
    const search = args.string('search');
    if (search !== undefined) {
      const client = await registryClient(context);
      // Loaded already by registryClient: no cost to the cold start of the other commands.
      const { DirErrorCode } = await import('@pilot/directory/client');
      try {
        const as = await searchingAs(context);
        const { results } = await client
          .find({ tags: [search], ...(as === undefined ? {} : { as }) })
          .catch((error: unknown) => {
            if (!isPilotError(error, DirErrorCode.UNSUPPORTED)) throw error;
            throw cliError(
              'unavailable',
              'this registry has no capability search (a reference registry: it does not advertise "find")',
              'use "pilotctl find <hostname>" to look a node up by name on this registry',
            );
          });
        const data = results.map((hit) => ({
          node_id: hit.nodeId,
          address: hit.address,
          hostname: hit.hostname ?? '',
          tags: hit.tags,
          public: hit.public,
        }));
        return {
          data: { results: data, count: data.length },
          human:
            data.length === 0
              ? `no node carries "${search}"`
              : data.map((hit) => `${hit.address}\t${hit.hostname}\t${hit.tags.join(',')}`).join('\n'),
        };
      } finally {
        client.close();
      }
    }
    const info = await context.info();
    const list = info.peer_list ?? [];
    return {
      data: { peers: list, count: list.length },
      human: list.length === 0 ? 'no peers' : list.map(peerLine).join('\n'),
    };
  },
};

const connections: Command = {
  name: 'connections',
  summary: "the daemon's stream connections",
  fields: ['connections', 'count'],
  errors: DAEMON_ERRORS,
  async run(context) {
    const info = await context.info();
    const list = info.conn_list ?? [];
    return {
      data: { connections: list, count: list.length },
      human:
        list.length === 0
          ? 'no connections'
          : list
              .map((c) => `${c.id}\t:${c.local_port} → ${c.remote_addr}:${c.remote_port}\t${c.state}`)
              .join('\n'),
    };
  },
};

const disconnect: Command = {
  name: 'disconnect',
  summary: 'close a connection by its ID (see "connections")',
  args: [{ name: 'id', help: 'connection ID' }],
  fields: ['id', 'closed'],
  errors: [...DAEMON_ERRORS, 'not_found'],
  async run(context, args) {
    const text = args.need('id');
    const id = Number(text);
    if (!/^\d+$/.test(text) || id > 0xffff_ffff)
      throw usageError(`connection ID must be a whole number, not "${text}"`);
    await (await context.driver()).closeConnection(id, { timeoutMs: 15_000 });
    return { data: { id, closed: true }, human: `connection ${id} closed` };
  },
};

export const nodeCommands: readonly Command[] = [
  info,
  health,
  setHostname,
  clearHostname,
  find,
  visibility(true),
  visibility(false),
  setTags,
  clearTags,
  setWebhook,
  clearWebhook,
  peers,
  connections,
  disconnect,
];
export { PEER_ERRORS };
