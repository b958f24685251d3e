// A registry client of the attacker's own (attacks 2 and 3): it speaks the registry protocol with a
// key of its own and tries to take a node ID over through owner recovery, or to learn a private
// node's address with a unilateral report_trust.
// Usage: node registry-attacker.mjs <host> <port> <fingerprint|-> takeover <owner>
//        node registry-attacker.mjs <host> <port> <fingerprint|-> unilateral <victim node id>
//        node registry-attacker.mjs <host> <port> <fingerprint|-> lookup <node id>   (what the registry holds)
// Prints one JSON line with what happened.
import { createSigner, DirectoryClient } from '../../../../packages/directory/dist/index.js';

const [host, portText, fingerprint, attack, arg] = process.argv.slice(2);
const client = await DirectoryClient.connect({
  host,
  port: Number(portText),
  reconnectAttempts: 1,
  ...(fingerprint === '-' ? {} : { tls: { pin: fingerprint } }),
});
const signer = createSigner();
const outcome = {};
try {
  if (attack === 'takeover') {
    const result = await client.register(signer, { listenAddr: '127.0.0.1:9', owner: arg });
    outcome.node_id = result.nodeId;
  } else if (attack === 'lookup') {
    const info = await client.lookup(Number(arg));
    outcome.hostname = info.hostname ?? '';
  } else if (attack === 'unilateral') {
    const me = await client.register(signer, { listenAddr: '127.0.0.1:9' });
    outcome.node_id = me.nodeId;
    await client.reportTrust(signer, me.nodeId, Number(arg));
    outcome.reported = true;
    try {
      const where = await client.resolve(signer, me.nodeId, Number(arg));
      outcome.resolved = where.realAddr;
    } catch (error) {
      outcome.refused = error.code;
    }
  }
} catch (error) {
  outcome.error = error.code ?? String(error);
}
client.close();
process.stdout.write(`${JSON.stringify(outcome)}\n`);
