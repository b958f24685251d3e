// Where a node is reached, as each registry derives it from what the node announces: the reference
// registry keeps the IP the registration came from and only the port of `listen_addr` (spec §7.3).
// A node registering the same `listen_addr` with both must be given out the same: the registry's
// `observed_addr` in register_ok and `real_addr` in lookup. On loopback both see 127.0.0.1; what the
// announced host may not do from another host is the NAT-lab test in packages/directory.
import { createSigner, DirectoryClient } from '@pilot/directory/client';
import { describe, expect, inject, it } from 'vitest';
import { Cluster, type Impl } from './support/cluster.js';
import { referenceBinOrThrow } from './support/global-setup.js';

const ANNOUNCED = [
  ':4001',
  '0.0.0.0:4002',
  '[::]:4003',
  'localhost:4004',
  'registry.example:4005',
  '198.51.100.9:4006',
  '127.0.0.1:4007',
  '[::1]:4008',
];

/** What a registry of `impl` answers for each announced endpoint: register's observed_addr, lookup's real_addr. */
async function derived(impl: Impl, bin: string): Promise<Array<{ observed: unknown; real: unknown }>> {
  const cluster = await Cluster.start(impl, bin);
  try {
    const [host, port] = cluster.registry.split(':');
    const client = await DirectoryClient.connect({ host: host as string, port: Number(port) });
    try {
      const out: Array<{ observed: unknown; real: unknown }> = [];
      for (const listenAddr of ANNOUNCED) {
        const signer = createSigner();
        const registered = await client.register(signer, { listenAddr });
        await client.setVisibility(signer, registered.nodeId, true);
        out.push({
          observed: registered.observedAddr,
          real: (await client.lookup(registered.nodeId)).realAddr,
        });
      }
      return out;
    } finally {
      client.close();
    }
  } finally {
    await cluster.close();
  }
}

describe('announced endpoints', () => {
  it('each registry gives out what the reference registry gives out', async () => {
    const bin = referenceBinOrThrow(inject('referenceBin'), inject('referenceError'));
    const [reference, ours] = await Promise.all([derived('ref', bin), derived('ts', bin)]);
    expect(reference.map((r) => r.real)).toEqual(ANNOUNCED.map((a) => `127.0.0.1:${a.split(':').at(-1)}`));
    expect(ours).toEqual(reference);
  }, 60_000);
});
