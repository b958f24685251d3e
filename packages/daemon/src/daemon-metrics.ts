import { MetricsRegistry } from '@pilot/metrics';
import type { PeerInfo } from '@pilot/tunnel';
import type { InfoJson } from './daemon.js';

const num = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);

/**
 * The daemon's metrics, read from its own `info()` at each scrape (nothing is counted twice, and
 * nothing costs anything while nobody scrapes): tunnels by path, bytes per peer, connections,
 * trust, the registry session, and every counter of the tunnel (punches, birthday probes, relay,
 * keepalives, drops by reason — budget drops among them) and of the transport.
 */
export function daemonMetrics(info: () => InfoJson): MetricsRegistry {
  const registry = new MetricsRegistry();
  const tunnels = registry.gauge('pilot_daemon_tunnels', 'Tunnels to peers, by path (direct or relay).');
  const connections = registry.gauge('pilot_daemon_connections', 'Open stream connections.');
  const trusted = registry.gauge('pilot_daemon_trusted_peers', 'Peers this node trusts.');
  const pending = registry.gauge('pilot_daemon_handshakes_pending', 'Trust requests waiting for an answer.');
  const registryUp = registry.gauge('pilot_daemon_registry_up', '1 while the registry session is healthy.');
  const registrations = registry.counter(
    'pilot_daemon_registrations_total',
    'Registrations with the registry.',
  );
  const peerSent = registry.counter(
    'pilot_daemon_peer_sent_bytes_total',
    'Tunnel bytes sent, by peer node id.',
  );
  const peerRecv = registry.counter(
    'pilot_daemon_peer_received_bytes_total',
    'Tunnel bytes received, by peer node id.',
  );
  const appBytes = registry.counter(
    'pilot_daemon_app_bytes_total',
    'Application bytes over streams, by direction.',
  );
  const dials = registry.counter('pilot_daemon_dials_total', 'Dials, by result.');
  const datagrams = registry.counter('pilot_daemon_datagrams_total', 'Datagrams, by direction.');
  const tunnelEvents = registry.counter(
    'pilot_daemon_tunnel_events_total',
    'Tunnel events by name: punch_commands, punch_received, birthday_started, birthday_hit, relay_activated, direct_restored, keepalives_sent, …',
  );
  const drops = registry.counter(
    'pilot_daemon_tunnel_drops_total',
    'Frames the tunnel dropped, by reason (budgets among them).',
  );
  const transport = registry.counter(
    'pilot_daemon_transport_total',
    'Transport counters (packets, retransmits, …), by name.',
  );
  registry.collect(() => {
    const current = info();
    const peers = (Array.isArray(current.peer_list) ? current.peer_list : []) as PeerInfo[];
    tunnels.reset();
    tunnels.set(peers.filter((peer) => !peer.relay).length, { path: 'direct' });
    tunnels.set(peers.filter((peer) => peer.relay).length, { path: 'relay' });
    for (const peer of peers) {
      peerSent.mirror(num(peer.bytes_sent), { peer: String(peer.node_id) });
      peerRecv.mirror(num(peer.bytes_recv), { peer: String(peer.node_id) });
    }
    connections.set(num(current.connections));
    trusted.set(num(current.trusted));
    pending.set(num(current.pending));
    registryUp.set(current.registry_ok === true ? 1 : 0);
    registrations.mirror(num(current.registrations));
    appBytes.mirror(num(current.app_bytes_sent), { direction: 'sent' });
    appBytes.mirror(num(current.app_bytes_recv), { direction: 'received' });
    dials.mirror(num(current.dials) - num(current.dial_failures), { result: 'ok' });
    dials.mirror(num(current.dial_failures), { result: 'failed' });
    datagrams.mirror(num(current.datagrams_sent), { direction: 'sent' });
    datagrams.mirror(num(current.datagrams_recv), { direction: 'received' });
    for (const [name, value] of Object.entries((current.tunnel ?? {}) as Record<string, unknown>)) {
      if (name.startsWith('drop_')) drops.mirror(num(value), { reason: name.slice(5) });
      else tunnelEvents.mirror(num(value), { event: name });
    }
    for (const [name, value] of Object.entries((current.transport ?? {}) as Record<string, unknown>))
      if (typeof value === 'number') transport.mirror(value, { counter: name });
  });
  return registry;
}
