import { type Address, BROADCAST_NODE, formatAddress } from '@pilot/wire';
import type { DaemonContext } from './daemon-context.js';
import { DEFAULT_DIAL_TIMEOUT } from './dialer.js';
import { errorMessage, IpcErrorCode, ipcErrorCode } from './errors.js';
import type { IpcClient } from './ipc-server.js';

/**
 * SendTo: a datagram to a node (the tunnel set up first if need be) or, to the broadcast node, to
 * every member of one of our networks. No reply; failures come back as Error messages.
 */
export function sendDatagram(
  ctx: DaemonContext,
  client: IpcClient,
  address: Address,
  port: number,
  data: Uint8Array,
): void {
  const transport = ctx.transport;
  const tunnel = ctx.tunnel;
  if (transport === undefined || tunnel === undefined) return;
  const copy = new Uint8Array(data);
  const send = (node: number): void => {
    try {
      transport.sendDatagram({ network: address.network, node }, port, copy);
      ctx.stats.datagramsSent++;
    } catch (error) {
      client.error(ipcErrorCode(error), errorMessage(error));
    }
  };
  if (address.node === BROADCAST_NODE) {
    void broadcast(ctx, client, address, port, copy);
    return;
  }
  if (address.node === ctx.nodeId || address.node === 0) {
    client.error(IpcErrorCode.INVALID_ARGUMENT, `cannot send a datagram to ${formatAddress(address)}`);
    return;
  }
  if (tunnel.peer(address.node)?.authenticated === true && tunnel.reaches(address.node)) {
    send(address.node);
    return;
  }
  ctx.dialer.ensureTunnel(address.node, ctx.options.dialTimeout ?? DEFAULT_DIAL_TIMEOUT).then(
    () => send(address.node),
    (error: unknown) => client.error(ipcErrorCode(error), errorMessage(error)),
  );
}

/** To every other member of `address.network` (not the backbone; we must be a member). */
async function broadcast(
  ctx: DaemonContext,
  client: IpcClient,
  address: Address,
  port: number,
  data: Uint8Array,
): Promise<void> {
  if (address.network === 0) {
    client.error(IpcErrorCode.INVALID_ARGUMENT, 'broadcast is not allowed on network 0');
    return;
  }
  try {
    if (!ctx.membership.networks.includes(address.network)) await ctx.membership.refresh();
    if (!ctx.membership.networks.includes(address.network)) {
      client.error(IpcErrorCode.NOT_TRUSTED, `this node is not a member of network ${address.network}`);
      return;
    }
    const ids = await ctx.membership.listMembers(address.network);
    for (const id of ids) {
      if (id === ctx.nodeId) continue;
      sendDatagram(ctx, client, { network: address.network, node: id }, port, data);
    }
  } catch (error) {
    client.error(ipcErrorCode(error), errorMessage(error));
  }
}
