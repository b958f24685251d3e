import type { TunnelManager } from '@pilot/tunnel';
import { encodeIpcFrame, type IpcMessage } from '@pilot/wire';
import { describe, expect, it } from 'vitest';
import { resolveDaemonBudgets } from './budgets.js';
import { DaemonContext } from './daemon-context.js';
import { INFO_LIST_MAX, infoReport } from './info-report.js';
import { createLogger } from './logger.js';
import type { DaemonOptions } from './options.js';
import { WebhookSender } from './webhook.js';

/** A peer as the tunnel reports it, with a long endpoint (the largest rows a real table has). */
const peer = (node: number) => ({
  node_id: node,
  endpoint: `[2001:db8:ffff:ffff:ffff:ffff:ffff:${(node % 0xffff).toString(16)}]:65535`,
  encrypted: true,
  authenticated: true,
  relay: false,
  path: 'direct' as const,
  setup_ms: 123,
  last_seen_ms: 4567,
  bytes_sent: 1_000_000,
  bytes_recv: 1_000_000,
  capabilities: [],
  forward_secret: false,
});

describe('infoReport', () => {
  it('lists at most INFO_LIST_MAX peers (counts stay whole): a daemon with 10 000 tunnels answers info', () => {
    const log = createLogger('error', 'text', () => {});
    const ctx = new DaemonContext(
      { home: '/nonexistent', socket: '/nonexistent.sock' } as DaemonOptions,
      log,
      resolveDaemonBudgets(),
      new WebhookSender(undefined, log),
    );
    const peers = Array.from({ length: 10_000 }, (_, i) => peer(i + 2));
    ctx.tunnel = {
      peers: () => peers,
      stats: {},
      tlsRelay: { mode: 'udp' },
      natMapping: '',
    } as unknown as TunnelManager;
    const info = infoReport(ctx);
    expect(info.peers).toBe(10_000);
    expect(info.authenticated_peers).toBe(10_000);
    expect((info.peer_list as unknown[]).length).toBe(INFO_LIST_MAX);
    expect(info.peer_list_omitted).toBe(10_000 - INFO_LIST_MAX);
    expect(info.conn_list_omitted).toBeUndefined();
    // The reply the IPC sends (it was "reply too large" with every peer listed).
    const frame = encodeIpcFrame({ type: 'infoOk', json: JSON.stringify(info) } as IpcMessage);
    expect(frame.length).toBeLessThan(1_048_576);
    // A small table is listed whole, with no omitted count.
    peers.length = 3;
    const small = infoReport(ctx);
    expect((small.peer_list as unknown[]).length).toBe(3);
    expect(small).not.toHaveProperty('peer_list_omitted');
  });
});
