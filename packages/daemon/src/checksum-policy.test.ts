import type { Address } from '@pilot/transport';
import { describe, expect, it } from 'vitest';
import { ChecksumPolicy } from './checksum-policy.js';

function setup(enabled = true) {
  const negotiated = new Set<number>();
  const calls: [number, boolean][] = [];
  const policy = new ChecksumPolicy(
    { negotiated: (node) => negotiated.has(node) },
    { setChecksumFree: (address: Address, free: boolean) => calls.push([address.node, free]) },
    enabled,
  );
  return { policy, negotiated, calls };
}

describe('ChecksumPolicy', () => {
  it('a peer that negotiated nothing (a reference peer) keeps the CRC: the transport is never told', () => {
    const { policy, calls } = setup();
    policy.update(7);
    policy.onTunnelEvent({ type: 'tunnel.established', node_id: 7 });
    expect(calls).toEqual([]);
  });

  it('follows capability and key news: on when negotiated, off when a new daemon no longer offers it', () => {
    const { policy, negotiated, calls } = setup();
    negotiated.add(9);
    policy.onTunnelEvent({ type: 'tunnel.moved', node_id: 9 }); // not a capability event
    expect(calls).toEqual([]);
    policy.onTunnelEvent({ type: 'tunnel.capabilities', node_id: 9 });
    expect(calls).toEqual([[9, true]]);
    policy.update(9); // nothing changed
    expect(calls).toHaveLength(1);
    expect([...policy.peers]).toEqual([9]);
    negotiated.delete(9);
    policy.onTunnelEvent({ type: 'tunnel.rekeyed', node_id: 9 });
    expect(calls.at(-1)).toEqual([9, false]);
    negotiated.add(9);
    policy.update(9);
    policy.forget(9);
    expect(calls.slice(-2)).toEqual([
      [9, true],
      [9, false],
    ]);
    policy.forget(9); // twice: nothing more
    expect(calls).toHaveLength(4);
    expect(policy.peers.size).toBe(0);
  });

  it('off by option (or a plaintext tunnel): the CRC stays for everyone', () => {
    const { policy, negotiated, calls } = setup(false);
    negotiated.add(9);
    policy.update(9);
    policy.onTunnelEvent({ type: 'tunnel.capabilities', node_id: 9 });
    expect(calls).toEqual([]);
  });
});
