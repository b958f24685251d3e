import type { Address } from '@pilot/transport';
import { describe, expect, it } from 'vitest';
import {
  INTERNET_DATAGRAM_CEILING_V4,
  INTERNET_DATAGRAM_CEILING_V6,
  LOOPBACK_DATAGRAM_CEILING,
} from './datagram-ceiling.js';
import { PathMtuPolicy } from './path-mtu-policy.js';

function setup(enabled = true) {
  const negotiated = new Set<number>();
  const endpoints = new Map<number, string>();
  const calls: [number, number][] = [];
  const policy = new PathMtuPolicy(
    { negotiated: (node) => negotiated.has(node), directEndpoint: (node) => endpoints.get(node) },
    { probePathMtu: (address: Address, ceiling: number) => calls.push([address.node, ceiling]) },
    enabled,
  );
  return { policy, negotiated, endpoints, calls };
}

describe('PathMtuPolicy', () => {
  it('a reference peer (nothing negotiated) is never probed, whatever its path', () => {
    const { policy, endpoints, calls } = setup();
    endpoints.set(7, '127.0.0.1:4000');
    policy.update(7);
    policy.onTunnelEvent({ type: 'tunnel.moved', node_id: 7 });
    expect(calls).toEqual([]);
  });

  it('a negotiated peer is probed up to its path class; a relay stops it; a direct path restarts it', () => {
    const { policy, negotiated, endpoints, calls } = setup();
    negotiated.add(9);
    endpoints.set(9, '127.0.0.1:4000');
    policy.onTunnelEvent({ type: 'tunnel.capabilities', node_id: 9 });
    expect(calls).toEqual([[9, LOOPBACK_DATAGRAM_CEILING]]);
    policy.update(9); // nothing changed: no restart
    expect(calls).toHaveLength(1);
    endpoints.delete(9); // relayed
    policy.onTunnelEvent({ type: 'tunnel.relay_activated', node_id: 9 });
    expect(calls.at(-1)).toEqual([9, 0]);
    endpoints.set(9, '203.0.113.5:4000');
    policy.onTunnelEvent({ type: 'tunnel.direct_restored', node_id: 9 });
    expect(calls.at(-1)).toEqual([9, INTERNET_DATAGRAM_CEILING_V4]);
    endpoints.set(9, '[2001:db8::1]:4000');
    policy.onTunnelEvent({ type: 'tunnel.moved', node_id: 9 });
    expect(calls.at(-1)).toEqual([9, INTERNET_DATAGRAM_CEILING_V6]);
    policy.forget(9);
    expect(calls.at(-1)).toEqual([9, 0]);
    expect(policy.probing.size).toBe(0);
  });

  it('off by option: nobody is probed', () => {
    const { policy, negotiated, endpoints, calls } = setup(false);
    negotiated.add(9);
    endpoints.set(9, '127.0.0.1:4000');
    policy.update(9);
    expect(calls).toEqual([]);
  });

  it('the TLS relay taking over re-reads every probed peer', () => {
    const { policy, negotiated, endpoints, calls } = setup();
    negotiated.add(9);
    endpoints.set(9, '127.0.0.1:4000');
    policy.onTunnelEvent({ type: 'tunnel.established', node_id: 9 });
    expect(calls).toEqual([[9, LOOPBACK_DATAGRAM_CEILING]]);
    endpoints.delete(9);
    policy.onTunnelEvent({ type: 'tunnel.relay_tls' });
    expect(calls.at(-1)).toEqual([9, 0]);
  });

  it('ignores other events and events without a node', () => {
    const { policy, negotiated, endpoints, calls } = setup();
    negotiated.add(9);
    endpoints.set(9, '127.0.0.1:4000');
    policy.onTunnelEvent({ type: 'security.bad_key', node_id: 9 });
    policy.onTunnelEvent({ type: 'tunnel.moved', node_id: '9' });
    expect(calls).toEqual([]);
  });
});
