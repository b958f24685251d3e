import { type Address, formatAddress } from '@pilot/wire';
import { SERVICE_PORTS } from './built-in-services.js';
import type { DaemonContext } from './daemon-context.js';

/**
 * The transport's admission check for a SYN or datagram from `source`: a public node takes everyone;
 * a private one its trusted peers, the members of its networks, and strangers on the handshake port.
 */
export function admit(
  ctx: DaemonContext,
  source: Address,
  port: number,
  kind: 'stream' | 'datagram',
): boolean {
  if (ctx.isPublic) return true;
  // The handshake port must be reachable by strangers: that is how they ask for trust.
  if (port === SERVICE_PORTS.handshake && kind === 'stream') return true;
  if (ctx.trust?.isTrusted(source.node) === true) return true;
  if (ctx.membership.has(source.node)) return true;
  ctx.membership.refreshSoon();
  ctx.emit(kind === 'stream' ? 'syn.rejected' : 'datagram.rejected', {
    from: formatAddress(source),
    port,
  });
  return false;
}

/** A revoked peer: its connections are reset, its tunnel and path-MTU state forgotten. */
export function dropPeer(ctx: DaemonContext, node: number): void {
  for (const entry of ctx.connections.values()) if (entry.remote.node === node) entry.stream.destroy();
  ctx.tunnel?.forget(node);
  ctx.pathMtu?.forget(node);
  ctx.checksumFree?.forget(node);
}
