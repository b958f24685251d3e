import { formatAddress } from '@pilot/wire';
import {
  array,
  boolean,
  integer,
  object,
  openObject,
  PEER,
  type PilotTool,
  READ_ONLY,
  string,
} from './tool-definition.js';

const NODE_ID = integer('the node ID');
const STATUS = object({ status: string('what happened'), node_id: NODE_ID, address: string('its address') }, [
  'status',
  'node_id',
  'address',
]);
/** Changing trust decides who may reach this node: agents should ask their user first. */
const CHANGES_TRUST = {
  readOnlyHint: false,
  destructiveHint: true,
  idempotentHint: true,
  openWorldHint: true,
} as const;

const handshake: PilotTool<{ peer: string; justification?: string }> = {
  name: 'pilot_handshake',
  title: 'Ask a peer for trust',
  description:
    'Ask a peer for mutual trust, with a justification its operator reads. Trust starts when the peer approves (it sees the request in its pending list); until then calls to a private peer fail with not_trusted. Needed before pilot_call_remote_tool, pilot_send_message, pilot_send_file.',
  inputSchema: object(
    { peer: PEER, justification: string("why you ask, for the peer's operator", { maxLength: 1024 }) },
    ['peer'],
  ),
  outputSchema: STATUS,
  annotations: CHANGES_TRUST,
  async run({ node }, { peer, justification }) {
    const address = await node.resolve(peer);
    const reply = await (await node.control()).handshake(address.node, justification ?? '', {
      timeoutMs: 60_000,
    });
    return {
      status: typeof reply.status === 'string' ? reply.status : 'sent',
      node_id: address.node,
      address: formatAddress(address),
    };
  },
};

const approve: PilotTool<{ peer: string }> = {
  name: 'pilot_approve',
  title: 'Approve a trust request',
  description:
    "Trust a node that asked (see pilot_pending): it may then reach this node and its services. Only on your user's word.",
  inputSchema: object({ peer: PEER }, ['peer']),
  outputSchema: STATUS,
  annotations: CHANGES_TRUST,
  async run({ node }, { peer }) {
    const address = await node.resolve(peer);
    await (await node.control()).approve(address.node, { timeoutMs: 60_000 });
    return { status: 'approved', node_id: address.node, address: formatAddress(address) };
  },
};

const reject: PilotTool<{ peer: string; reason?: string }> = {
  name: 'pilot_reject',
  title: 'Reject a trust request',
  description: 'Refuse a pending trust request; the peer is told the reason.',
  inputSchema: object({ peer: PEER, reason: string('told to the peer', { maxLength: 1024 }) }, ['peer']),
  outputSchema: STATUS,
  annotations: CHANGES_TRUST,
  async run({ node }, { peer, reason }) {
    const address = await node.resolve(peer);
    await (await node.control()).reject(address.node, reason ?? '', { timeoutMs: 60_000 });
    return { status: 'rejected', node_id: address.node, address: formatAddress(address) };
  },
};

const untrust: PilotTool<{ peer: string }> = {
  name: 'pilot_untrust',
  title: 'Revoke trust',
  description: 'Stop trusting a node: its tunnel keys are dropped and it can no longer reach this node.',
  inputSchema: object({ peer: PEER }, ['peer']),
  outputSchema: STATUS,
  annotations: CHANGES_TRUST,
  async run({ node }, { peer }) {
    const address = await node.resolve(peer);
    await (await node.control()).revoke(address.node, { timeoutMs: 30_000 });
    return { status: 'revoked', node_id: address.node, address: formatAddress(address) };
  },
};

const pending: PilotTool = {
  name: 'pilot_pending',
  title: 'Trust requests waiting',
  description: 'Trust requests other nodes sent this one, waiting for pilot_approve or pilot_reject.',
  inputSchema: object({}),
  outputSchema: object(
    {
      pending: array(
        openObject(
          { node_id: NODE_ID, address: string('its address'), justification: string('why it asks') },
          ['node_id', 'address', 'justification'],
        ),
      ),
      count: integer('how many'),
    },
    ['pending', 'count'],
  ),
  annotations: { ...READ_ONLY, openWorldHint: false },
  async run({ node }) {
    const list = await (await node.control()).pending({ timeoutMs: 15_000 });
    const rows = list.map((p) => ({
      node_id: p.node_id,
      address: formatAddress({ network: 0, node: p.node_id }),
      justification: p.justification ?? '',
    }));
    return { pending: rows, count: rows.length };
  },
};

const trust: PilotTool<{ peer?: string }> = {
  name: 'pilot_trust',
  title: 'Trusted nodes, or the trust state of one',
  description:
    'Without a peer: every node this one trusts. With a peer: whether this node trusts it (and whether the trust is mutual) — cheap, call it before sending to a peer.',
  inputSchema: object({ peer: PEER }),
  outputSchema: object(
    {
      trusted: array(
        openObject(
          { node_id: NODE_ID, address: string('its address'), mutual: boolean('it trusts us too') },
          ['node_id', 'address'],
        ),
      ),
      count: integer('how many'),
      peer: openObject(
        {
          node_id: NODE_ID,
          address: string('its address'),
          trusted: boolean('trusted'),
          mutual: boolean('mutual'),
        },
        ['node_id', 'address', 'trusted'],
      ),
    },
    ['trusted', 'count'],
  ),
  annotations: { ...READ_ONLY, openWorldHint: false },
  async run({ node }, { peer }) {
    const list = await (await node.control()).trusted({ timeoutMs: 15_000 });
    const rows = list.map((t) => ({
      node_id: t.node_id,
      address: formatAddress({ network: 0, node: t.node_id }),
      ...(typeof t.mutual === 'boolean' ? { mutual: t.mutual } : {}),
    }));
    if (peer === undefined) return { trusted: rows, count: rows.length };
    const address = await node.resolve(peer);
    const row = rows.find((r) => r.node_id === address.node);
    return {
      trusted: rows,
      count: rows.length,
      peer: {
        node_id: address.node,
        address: formatAddress(address),
        trusted: row !== undefined,
        ...(row?.mutual === undefined ? {} : { mutual: row.mutual }),
      },
    };
  },
};

export const trustTools: readonly PilotTool[] = [
  handshake as PilotTool,
  pending,
  approve as PilotTool,
  reject as PilotTool,
  trust as PilotTool,
  untrust as PilotTool,
];
