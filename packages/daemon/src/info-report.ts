import { toBase64 } from '@pilot/directory/client';
import { connectionStateName } from '@pilot/transport';
import type { PeerInfo } from '@pilot/tunnel';
import { formatAddress } from '@pilot/wire';
import type { DaemonContext } from './daemon-context.js';
import { DAEMON_VERSION } from './version.js';

/** The Info (0x0E) JSON: the reference keys (reference §9.3) and ours. */
export type InfoJson = Record<string, unknown>;

/** Health (the reference's short status): ok or degraded when the registry is unreachable. */
export function healthReport(ctx: DaemonContext): Record<string, unknown> {
  const peers = ctx.tunnel?.peers() ?? [];
  return {
    status: ctx.session?.healthy === false ? 'degraded' : 'ok',
    uptime_seconds: Math.floor((Date.now() - ctx.startedAt) / 1000),
    connections: ctx.connections.size,
    peers: peers.length,
    bytes_sent: peers.reduce((sum, p) => sum + p.bytes_sent, 0),
    bytes_recv: peers.reduce((sum, p) => sum + p.bytes_recv, 0),
    registry: ctx.session?.healthy === false ? 'unreachable' : 'ok',
  };
}

/** What the budgets refused since the start (info's budgets.refused, and the budget log). */
export function budgetRefusals(ctx: DaemonContext): Record<string, number> {
  const counters = ctx.transport?.endpoint.counters;
  const q = ctx.session?.queue;
  const tunnel = ctx.tunnel?.stats;
  return {
    handshake_streams_per_peer: counters?.synPerSourceRefused ?? 0,
    streams_over_port_or_total: counters?.synRefused ?? 0,
    syn_rate_limited: counters?.synRateLimited ?? 0,
    not_admitted: counters?.notAdmitted ?? 0,
    receive_buffer_full: counters?.receiveBufferFull ?? 0,
    peer_receive_bytes: counters?.peerReceiveBudgetFull ?? 0,
    pila_throttled: tunnel?.pila_throttled ?? 0,
    registry_lookups: ctx.lookups?.refused ?? 0,
    registry_lookups_per_source: ctx.lookups?.refusals.perSource ?? 0,
    registry_lookups_queue: (q?.backgroundRefused ?? 0) + (q?.backgroundExpired ?? 0),
    unknown_node_cached: ctx.unknownNodes?.hits ?? 0,
    exchange_files_per_stream: ctx.exchangeFilesRefused,
    exchange_files_per_peer: ctx.exchangeQuota?.refusals.files ?? 0,
    exchange_bytes_per_peer: ctx.exchangeQuota?.refusals.bytes ?? 0,
    punch_unsolicited: tunnel?.punch_unsolicited_refused ?? 0,
    punch_attempts: tunnel?.punch_attempts_refused ?? 0,
    birthday_unvouched: tunnel?.birthday_refused_unvouched ?? 0,
    birthday_busy: tunnel?.birthday_refused_busy ?? 0,
  };
}

/** One row of info's conn_list per connection the daemon holds. */
function connectionList(ctx: DaemonContext): Record<string, unknown>[] {
  return ctx.connections.values().map((entry) => {
    const connection = entry.stream.connection;
    const stats = connection.stats();
    return {
      id: entry.id,
      local_port: entry.localPort,
      remote_addr: formatAddress(entry.remote),
      remote_port: entry.remotePort,
      state: connectionStateName(connection.state),
      service: entry.service ?? '',
      owner: entry.owner === undefined ? 'daemon' : `ipc:${entry.owner.id}`,
      cong_win: stats.cwnd,
      in_flight: stats.inFlight,
      srtt_ms: stats.srtt === undefined ? 0 : Math.round(stats.srtt * 100) / 100,
      rto_ms: Math.round(stats.rto),
      unacked: connection.pendingBytes,
      peer_recv_win: stats.peerWindow,
      bytes_sent: entry.bytesSent,
      bytes_recv: entry.bytesRecv,
      age_secs: Math.floor((Date.now() - entry.openedAt) / 1000),
    };
  });
}

/**
 * Rows of info's peer_list and conn_list at most (the counts stay whole; `peer_list_omitted` /
 * `conn_list_omitted` say how many rows were left out). A daemon with 10 000 tunnels made a peer_list
 * of ~2.5 MB, over the IPC's 1 MiB frame: `info` failed ("reply too large"), and with it `pilotctl
 * daemon stop`, which asks `info` first.
 */
export const INFO_LIST_MAX = 1000;

/** Info (pilotctl info, `GET /metrics`): everything the daemon knows of itself. */
export function infoReport(ctx: DaemonContext): InfoJson {
  const peers: PeerInfo[] = ctx.tunnel?.peers() ?? [];
  const connections = [...connectionList(ctx)];
  const counters = ctx.transport?.endpoint.counters;
  const trustStore = ctx.trustStore;
  const session = ctx.session;
  const endpoint = ctx.endpoint;
  const udp = ctx.tunnel?.socket === undefined ? undefined : ctx.tunnel.udpAddress;
  return {
    node_id: ctx.nodeId,
    address: ctx.address,
    hostname: ctx.hostname ?? '',
    uptime_secs: Math.floor((Date.now() - ctx.startedAt) / 1000),
    connections: ctx.connections.size,
    ports: ctx.ports.inUse(),
    peers: peers.length,
    encrypted_peers: peers.filter((p) => p.encrypted).length,
    authenticated_peers: peers.filter((p) => p.authenticated).length,
    encrypt: ctx.options.encrypt !== false,
    identity: ctx.identityPath,
    public_key: ctx.identity === undefined ? '' : toBase64(ctx.identity.publicKey),
    bytes_sent: peers.reduce((sum, p) => sum + p.bytes_sent, 0),
    bytes_recv: peers.reduce((sum, p) => sum + p.bytes_recv, 0),
    pkts_sent: counters?.packetsSent ?? 0,
    pkts_recv: counters?.packetsReceived ?? 0,
    handshake_pending_count: trustStore?.pending.size ?? 0,
    handshake_refused: ctx.trust?.rejectedMessages ?? 0,
    version: DAEMON_VERSION,
    networks: [0, ...ctx.membership.networks].map((network) => ({
      network_id: network,
      address: formatAddress({ network, node: ctx.nodeId }),
    })),
    network_peers: ctx.membership.peerCount,
    // path_mtu: the datagram size the transport uses towards the peer now (tunnel frame included);
    // above the spec's only towards pilot-ts peers that negotiated large-datagrams. checksum_free:
    // packets to and from the peer go without the CRC inside PILS (aead-checksum-free).
    peer_list: peers.slice(0, INFO_LIST_MAX).map((peer) => ({
      ...peer,
      path_mtu: ctx.transport?.endpoint.pathMtu({ network: 0, node: peer.node_id }),
      checksum_free: ctx.transport?.endpoint.isChecksumFree({ network: 0, node: peer.node_id }) === true,
    })),
    ...(peers.length > INFO_LIST_MAX ? { peer_list_omitted: peers.length - INFO_LIST_MAX } : {}),
    conn_list: connections.slice(0, INFO_LIST_MAX),
    ...(connections.length > INFO_LIST_MAX ? { conn_list_omitted: connections.length - INFO_LIST_MAX } : {}),
    pid: process.pid,
    home: ctx.home,
    socket: ctx.socket,
    registry: ctx.options.registry,
    registry_ok: session?.healthy === true,
    registry_active: session?.endpoint ?? '',
    keys_refused: ctx.keyPins?.refused ?? 0,
    registry_tls: session?.link?.mode === 'tls',
    registry_fingerprint: session?.link?.fingerprint ?? '',
    registry_pin: session?.link?.pinSource ?? '',
    registrations: session?.registrations ?? 0,
    // Heartbeat timing and the registry connection's queues: floods of strangers must not move these.
    registry_session: { ...session?.heartbeatStats, queue: session?.queue },
    beacon: ctx.options.beacon ?? '',
    public: ctx.isPublic,
    tags: ctx.tags,
    endpoint: endpoint === undefined ? '' : `${endpoint.host}:${endpoint.port}`,
    nat_mapping: ctx.tunnel?.natMapping ?? '',
    udp_listen: udp === undefined ? '' : `${udp.address}:${udp.port}`,
    trusted: trustStore?.trusted.size ?? 0,
    pending: trustStore?.pending.size ?? 0,
    relay_peers: peers.filter((p) => p.relay).length,
    relay_tls_peers: peers.filter((p) => p.path === 'relay-tls').length,
    transport_mode: ctx.tunnel?.tlsRelay.mode ?? 'udp',
    tls_relay: { address: ctx.wssAddress, ...(ctx.tunnel?.tlsRelay ?? {}) },
    retransmits: counters?.retransmits ?? 0,
    app_bytes_sent: ctx.stats.bytesSent,
    app_bytes_recv: ctx.stats.bytesRecv,
    dials: ctx.stats.dials,
    dial_failures: ctx.stats.dialFailures,
    accepted: ctx.stats.accepted,
    datagrams_sent: ctx.stats.datagramsSent,
    datagrams_recv: ctx.stats.datagramsRecv,
    ipc_clients: ctx.ipc?.clients.size ?? 0,
    ipc_garbage: ctx.ipc?.garbage ?? 0,
    webhook: ctx.webhook.url,
    budgets: {
      limits: { ...ctx.budgets },
      // What the budgets refused since the start (each a drop; everyone else was still served).
      refused: budgetRefusals(ctx),
    },
    transport: counters === undefined ? {} : { ...counters },
    tunnel: ctx.tunnel === undefined ? {} : { ...ctx.tunnel.stats },
    mailbox: { messages: ctx.mailbox?.messages ?? 0, files: ctx.mailbox?.files ?? 0 },
    eventstream: {
      subscribers: ctx.broker?.subscriberCount ?? 0,
      published: ctx.broker?.published ?? 0,
    },
  };
}
