import { type Command, DAEMON_ERRORS, PEER_ERRORS } from '../command.js';

const NODE_ARG = { name: 'node', help: 'node ID, address or hostname' } as const;

const handshake: Command = {
  name: 'handshake',
  summary: 'ask a node for trust (over port 444, or relayed by the registry)',
  args: [NODE_ARG, { name: 'justification', help: "why, for the peer's operator", optional: true }],
  fields: ['status', 'node_id', 'via'],
  errors: PEER_ERRORS,
  async run(context, args) {
    const node = await context.nodeId(args.need('node'));
    const reply = await (await context.driver()).handshake(node, args.arg('justification') ?? '', {
      timeoutMs: 60_000,
    });
    const data: Record<string, unknown> = { status: 'sent', node_id: node, ...reply };
    return {
      data,
      human: `trust request ${String(data.status)} to node ${node}${typeof data.via === 'string' ? ` (via ${data.via})` : ''}`,
    };
  },
};

const pending: Command = {
  name: 'pending',
  summary: 'trust requests waiting for your answer',
  fields: ['pending', 'count'],
  errors: DAEMON_ERRORS,
  async run(context) {
    const list = await (await context.driver()).pending({ timeoutMs: 15_000 });
    return {
      data: { pending: list, count: list.length },
      human:
        list.length === 0
          ? 'no pending requests'
          : list.map((p) => `${p.node_id}\t${p.justification ?? ''}`).join('\n'),
    };
  },
};

const approve: Command = {
  name: 'approve',
  summary: 'trust a node that asked',
  args: [NODE_ARG],
  fields: ['status', 'node_id'],
  errors: [...PEER_ERRORS],
  async run(context, args) {
    const node = await context.nodeId(args.need('node'));
    const reply = await (await context.driver()).approve(node, { timeoutMs: 60_000 });
    const status = typeof reply.status === 'string' ? reply.status : 'approved';
    return {
      data: { status: 'approved', node_id: node, ...reply },
      human:
        status === 'pre-approved'
          ? `node ${node} pre-approved: it is trusted once it asks (nothing is revealed to it before)`
          : `node ${node} approved`,
    };
  },
};

const reject: Command = {
  name: 'reject',
  summary: 'refuse a trust request',
  args: [NODE_ARG, { name: 'reason', help: 'told to the peer', optional: true }],
  fields: ['status', 'node_id'],
  errors: [...PEER_ERRORS],
  async run(context, args) {
    const node = await context.nodeId(args.need('node'));
    const reply = await (await context.driver()).reject(node, args.arg('reason') ?? '', {
      timeoutMs: 60_000,
    });
    return { data: { status: 'rejected', node_id: node, ...reply }, human: `node ${node} rejected` };
  },
};

const trust: Command = {
  name: 'trust',
  summary: 'the nodes this one trusts',
  fields: ['trusted', 'count'],
  errors: DAEMON_ERRORS,
  async run(context) {
    const list = await (await context.driver()).trusted({ timeoutMs: 15_000 });
    return {
      data: { trusted: list, count: list.length },
      human:
        list.length === 0
          ? 'no trusted nodes'
          : list
              .map((t) => {
                // The pinned key: a peer showing another key is refused until it proves a rotation.
                const fingerprint = typeof t.key_fingerprint === 'string' ? t.key_fingerprint : '';
                const key =
                  fingerprint === '' ? 'key not pinned yet' : `key sha256 ${fingerprint.slice(0, 16)}…`;
                return `${t.node_id}\t${t.mutual === true ? 'mutual' : 'pre-approved'}\t${key}`;
              })
              .join('\n'),
    };
  },
};

const untrust: Command = {
  name: 'untrust',
  summary: 'revoke trust in a node (its tunnel keys are dropped)',
  args: [NODE_ARG],
  fields: ['status', 'node_id'],
  errors: [...PEER_ERRORS],
  async run(context, args) {
    const node = await context.nodeId(args.need('node'));
    const reply = await (await context.driver()).revoke(node, { timeoutMs: 30_000 });
    return { data: { status: 'revoked', node_id: node, ...reply }, human: `trust in node ${node} revoked` };
  },
};

export const trustCommands: readonly Command[] = [handshake, pending, approve, reject, trust, untrust];
