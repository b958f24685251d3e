import { connect } from 'node:tls';
import { describe, expect, inject, it } from 'vitest';
import { Cluster, type PilotNode } from './support/cluster.js';
import { referenceBinOrThrow } from './support/global-setup.js';
import { eventually } from './support/processes.js';

/** The SHA-256 of the certificate a TLS server on 127.0.0.1:`port` shows, hex (read without trusting it). */
function serverFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256.replace(/:/g, '').toLowerCase();
      socket.destroy();
      resolve(fingerprint);
    });
    socket.once('error', reject);
  });
}

const port = (address: string): number => Number(address.split(':').at(-1));

/** Both daemons registered over pinned TLS: trust, then a ping each way, through that registry. */
async function trustAndPing(t: PilotNode, r: PilotNode): Promise<void> {
  await t.must(['handshake', String(r.nodeId), 'interop over TLS']);
  await eventually('the reference shows the request', async () =>
    ((await r.must(['pending'])).pending as { node_id: number }[] | undefined)?.some(
      (e) => e.node_id === t.nodeId,
    )
      ? true
      : undefined,
  );
  await r.must(['approve', String(t.nodeId)]);
  await eventually(
    'pilot-ts learns the approval',
    async () =>
      ((await t.must(['trust'])).trusted as { node_id: number }[] | undefined)?.some(
        (e) => e.node_id === r.nodeId,
      )
        ? true
        : undefined,
    40_000,
  );
  expect((await t.must(['ping', String(r.nodeId), '--count', '2'])).results.length).toBeGreaterThan(0);
  expect((await r.must(['ping', String(t.nodeId), '--count', '2'])).results.length).toBeGreaterThan(0);
}

// Each case has a cluster of its own and mostly waits (registration, the handshake's poll): they run
// side by side.
describe.concurrent('registry over TLS with a pinned certificate', () => {
  /** Runs `body` on a fresh cluster and closes it, whatever happens. */
  async function withCluster(cluster: Cluster, body: (cluster: Cluster) => Promise<void>): Promise<void> {
    try {
      await body(cluster);
    } finally {
      await cluster.close();
    }
  }

  it('on the reference rendezvous started with -tls: pilot-ts with --registry-tls --registry-fingerprint', async () => {
    const bin = referenceBinOrThrow(inject('referenceBin'), inject('referenceError'));
    await withCluster(await Cluster.start('ref', bin, { tls: true }), async (cluster) => {
      const fingerprint = await serverFingerprint(port(cluster.registry));
      const [t, r] = await Promise.all([
        cluster.node('ts', 'pts-tls', ['--registry-tls', '--registry-fingerprint', fingerprint]),
        cluster.node('ref', 'ref-tls', ['-registry-tls', '-registry-fingerprint', fingerprint]),
      ]);
      expect((await t.must(['info'])).registry_tls).toBe(true);
      await trustAndPing(t, r);
    });
  });

  it('on the pilot-ts rendezvous (TLS by default): the reference with -registry-tls -registry-fingerprint', async () => {
    const bin = referenceBinOrThrow(inject('referenceBin'), inject('referenceError'));
    await withCluster(await Cluster.start('ts', bin), async (cluster) => {
      const fingerprint = cluster.fingerprint();
      expect(await serverFingerprint(port(cluster.registry))).toBe(fingerprint);
      const [t, r] = await Promise.all([
        cluster.node('ts', 'pts-tls', ['--registry-tls', '--registry-fingerprint', fingerprint]),
        cluster.node('ref', 'ref-tls', ['-registry-tls', '-registry-fingerprint', fingerprint]),
      ]);
      await trustAndPing(t, r);
    });
  });

  it('a wrong pin is refused by both daemons', async () => {
    const bin = referenceBinOrThrow(inject('referenceBin'), inject('referenceError'));
    await withCluster(await Cluster.start('ts', bin), async (cluster) => {
      const wrong = 'ab'.repeat(32);
      const [t, r] = await Promise.allSettled([
        cluster.node('ts', 'pts-bad', ['--registry-tls', '--registry-fingerprint', wrong]),
        cluster.node('ref', 'ref-bad', ['-registry-tls', '-registry-fingerprint', wrong]),
      ]);
      expect(t.status === 'rejected' && String(t.reason)).toMatch(/exited with/);
      expect(r.status === 'rejected' && String(r.reason)).toMatch(/exited with/);
    });
  });
});
