// Runs inside the lab's `pub` namespace: two beacons on 198.18.0.1 (ports 9001 and 9002, so a
// symmetric NAT maps them differently), until stdin closes. Prints one JSON line per event.
import { createHash } from 'node:crypto';
import { identityFromSeed } from '@pilot/crypto';
import { Beacon } from '../../dist/index.js';

const host = process.argv[2] ?? '198.18.0.1';
// The agents' lab identities (agent.mjs): the keys a registry would hand the beacon, for discover proofs.
const nodeKey = (node) =>
  identityFromSeed(createHash('sha256').update(`natlab node ${node}`).digest()).publicKey;
const beacons = await Promise.all([9001, 9002].map((port) => Beacon.start({ host, port, nodeKey })));
const print = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);
print({ event: 'ready' });
process.stdin.setEncoding('utf8');
let buffered = '';
process.stdin.on('data', (chunk) => {
  buffered += chunk;
  for (let at = buffered.indexOf('\n'); at >= 0; at = buffered.indexOf('\n')) {
    const line = buffered.slice(0, at).trim();
    buffered = buffered.slice(at + 1);
    if (line === 'stats') print({ event: 'stats', stats: beacons.map((b) => b.stats()) });
  }
});
process.stdin.on('end', async () => {
  await Promise.all(beacons.map((b) => b.close()));
  process.exit(0);
});
