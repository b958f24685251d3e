import { formatAddress } from '@pilot/wire';
import type { DaemonContext } from './daemon-context.js';
import { DaemonErrorCode, daemonError } from './errors.js';

/** Starts the sweep (every quarter of the idle timeout, 250 ms to 15 s); returns its stop. */
export function startDeadPeerSweep(ctx: DaemonContext): () => void {
  const idle = ctx.options.idleTimeout ?? 120_000;
  if (idle <= 0) return () => {};
  const timer = setInterval(() => sweepDeadPeers(ctx), Math.min(Math.max(250, idle / 4), 15_000));
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * Dead-peer cleanup beyond the transport's own: a connection with data in flight to a peer whose
 * tunnel has been silent for the idle timeout is reset (retransmission back-off alone would take
 * about a minute to give up on a peer killed mid-stream).
 */
export function sweepDeadPeers(ctx: DaemonContext): void {
  const idle = ctx.options.idleTimeout ?? 120_000;
  const tunnel = ctx.tunnel;
  if (idle <= 0 || tunnel === undefined) return;
  for (const entry of ctx.connections.values()) {
    if (entry.stream.destroyed || entry.stream.connection.pendingBytes === 0) continue;
    const peer = tunnel.peer(entry.remote.node);
    if (peer === undefined || peer.last_seen_ms < idle) continue;
    ctx.log.info('peer silent with data in flight: closing the connection', {
      conn_id: entry.id,
      peer: formatAddress(entry.remote),
      silent_ms: peer.last_seen_ms,
    });
    ctx.emit('conn.dead_peer', { conn_id: entry.id, peer: formatAddress(entry.remote) });
    entry.stream.destroy(daemonError(DaemonErrorCode.CONNECTION_FAILED, 'peer silent for the idle timeout'));
  }
}
