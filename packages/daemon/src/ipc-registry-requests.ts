import type { IpcNetworkRequest } from '@pilot/wire';
import type { DaemonContext } from './daemon-context.js';
import { DaemonErrorCode, daemonError } from './errors.js';
import type { RegistrySession } from './registry-session.js';

// The IPC requests the registry answers for this node; each returns its *OK reply's JSON.

export async function resolveHostname(
  ctx: DaemonContext,
  session: RegistrySession,
  hostname: string,
): Promise<unknown> {
  const found = await session.call((c) => c.resolveHostname(hostname, ctx.nodeId));
  return {
    node_id: found.nodeId,
    address: found.address,
    hostname,
    public: found.public,
  };
}

export async function setHostname(
  ctx: DaemonContext,
  session: RegistrySession,
  hostname: string,
): Promise<unknown> {
  await session.call((c) => c.setHostname(session.signer, ctx.nodeId, hostname));
  ctx.hostname = hostname === '' ? undefined : hostname;
  return { node_id: ctx.nodeId, hostname };
}

export async function setVisibility(
  ctx: DaemonContext,
  session: RegistrySession,
  visible: boolean,
): Promise<unknown> {
  await session.call((c) => c.setVisibility(session.signer, ctx.nodeId, visible));
  ctx.isPublic = visible;
  return { node_id: ctx.nodeId, public: visible };
}

/** SetTags: `json` is the tags as a JSON array of strings (DAEMON_INVALID_ARGUMENT otherwise). */
export async function setTags(ctx: DaemonContext, session: RegistrySession, json: string): Promise<unknown> {
  let tags: unknown;
  try {
    tags = JSON.parse(json);
  } catch {
    throw daemonError(DaemonErrorCode.INVALID_ARGUMENT, 'tags must be a JSON array of strings');
  }
  if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string'))
    throw daemonError(DaemonErrorCode.INVALID_ARGUMENT, 'tags must be a JSON array of strings');
  const saved = await session.call((c) => c.setTags(session.signer, ctx.nodeId, tags as string[]));
  ctx.tags = saved;
  return { node_id: ctx.nodeId, tags: saved };
}

/** Deregister: the heartbeats stop first, so the session does not register us again. */
export async function deregister(ctx: DaemonContext, session: RegistrySession): Promise<unknown> {
  session.suspend();
  await session.call((c) => c.deregister(session.signer, ctx.nodeId));
  ctx.emit('node.deregistered', {});
  return { status: 'deregistered', node_id: ctx.nodeId };
}

/** Network list/members/join/leave/invite; join and leave refresh the membership the trust gate uses. */
export async function networkRequest(ctx: DaemonContext, request: IpcNetworkRequest): Promise<unknown> {
  const session = ctx.requireSession();
  switch (request.action) {
    case 'list':
      return session.call((c) => c.listNetworks());
    case 'members':
      return session.call((c) => c.listNodes(request.network));
    case 'join': {
      const address = await session.call((c) =>
        c.joinNetwork(
          session.signer,
          ctx.nodeId,
          request.network,
          request.token === '' ? {} : { token: request.token },
        ),
      );
      await ctx.membership.refresh();
      return { network_id: request.network, address };
    }
    case 'leave':
      await session.call((c) => c.leaveNetwork(session.signer, ctx.nodeId, request.network));
      await ctx.membership.refresh();
      return { network_id: request.network, status: 'left' };
    case 'invite':
      await session.call((c) => c.inviteToNetwork(session.signer, ctx.nodeId, request.network, request.node));
      return { network_id: request.network, node_id: request.node, status: 'invited' };
    default:
      throw daemonError(
        DaemonErrorCode.INVALID_ARGUMENT,
        `network ${request.action} is not supported by this daemon`,
      );
  }
}
