// A node of the tunnel lab tests, run in a lab peer namespace: identity, registry client, a
// UdpTransport whose codec is the TunnelManager (compiled to ./.build by the test), a stream
// listener on port 1000 that hashes what it receives. Commands arrive as JSON lines on stdin;
// events leave as JSON lines on stdout.
//   argv: rendezvousHost directTimeoutMs keepaliveMs
//   {"cmd":"connect","node":N}              → {"event":"tunnel",…PeerInfo} | {"event":"tunnel-error",code,message}
//   {"cmd":"send","node":N,"bytes":B,"seed":S,"pauseMs":P} → {"event":"progress",sent}… {"event":"sent",bytes,sha256}
//   {"cmd":"peer","node":N}                 → {"event":"peer",…PeerInfo}
//   {"cmd":"stats"}                         → {"event":"stats",stats}
// Received streams print {"event":"received",bytes,sha256}.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { generateIdentity } from '@pilot/crypto';
import { DirectoryClient, fromBase64, signerFromIdentity } from '@pilot/directory/client';
import { UdpTransport } from '@pilot/transport/node';
import { TunnelManager } from './.build/index.js';

const [host = '198.18.0.1', directTimeout = '2500', keepalive = '1000'] = process.argv.slice(2);
const print = (record) => process.stdout.write(`${JSON.stringify(record)}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Deterministic bytes: SHA-256 in counter mode over the seed. */
function payload(seed, length) {
  const out = Buffer.alloc(length);
  for (let at = 0, block = 0; at < length; at += 32, block++) {
    createHash('sha256').update(`${seed}:${block}`).digest().copy(out, at);
  }
  return out;
}

const identity = generateIdentity();
const signer = signerFromIdentity(identity);
const client = await DirectoryClient.connect({ host, port: 9000 });
let nodeId = 0;

/** `ip:port` as the registry writes it; undefined when malformed (the lab is IPv4 only). */
function parseUdpAddress(text) {
  const match = /^([^:]+):(\d+)$/.exec(text ?? '');
  return match === null ? undefined : { address: match[1], port: Number(match[2]) };
}

/** The TunnelDirectory over the registry client (test/registry-directory.ts, in JS). */
const directory = {
  async publicKey(node) {
    try {
      return fromBase64((await client.lookup(node)).publicKey, 32, 'public_key');
    } catch {
      return undefined;
    }
  },
  async resolve(node) {
    const found = await client.resolve(signer, nodeId, node);
    const endpoint = parseUdpAddress(found.realAddr);
    const lanAddrs = found.lanAddrs.map(parseUdpAddress).filter((a) => a !== undefined);
    return { ...(endpoint === undefined ? {} : { endpoint }), lanAddrs };
  },
  // Birthday intents: birthday probing goes only towards IPs the registry vouches for.
  async birthday(node) {
    const reply = await client.birthday(signer, nodeId, node);
    return node === undefined ? reply.peers.flatMap((peer) => peer.ips) : reply.ips;
  },
};
const manager = new TunnelManager({
  identity,
  directory,
  beacon: { address: host, port: 9001 },
  reflectors: [
    { protocol: 'beacon', address: host, port: 9001 },
    { protocol: 'beacon', address: host, port: 9002 },
  ],
  directTimeoutMs: Number(directTimeout),
  directRetryMs: 3000,
  keepaliveMs: Number(keepalive),
  onEvent: (event) => print({ ...event, event: 'tunnel-event' }),
});
await manager.bind({ host: '0.0.0.0', port: 0 });
const transport = await UdpTransport.create({ link: manager, localAddress: { network: 0, node: 0 } });
manager.start(0);
const registered = await client.register(signer, { listenAddr: `0.0.0.0:${manager.udpAddress.port}` });
nodeId = registered.nodeId;
await client.setVisibility(signer, nodeId, true);
transport.endpoint.setLocalAddress({ network: 0, node: nodeId });
manager.setNodeId(nodeId);
const mapping = await manager.classify();
const endpoint = await manager.discover();
transport.listen(1000);
transport.on('connection', (stream) => {
  const hash = createHash('sha256');
  let bytes = 0;
  stream.on('data', (chunk) => {
    hash.update(chunk);
    bytes += chunk.length;
  });
  stream.on('error', (error) => print({ event: 'stream-error', message: String(error) }));
  stream.on('end', () => {
    print({ event: 'received', bytes, sha256: hash.digest('hex') });
    stream.end();
  });
});
print({ event: 'ready', node_id: nodeId, mapping, endpoint, port: manager.udpAddress.port });

async function send({ node, bytes, seed, pauseMs = 0, chunk = 16 * 1024 }) {
  const data = payload(seed, bytes);
  const stream = await transport.connect({ network: 0, node }, 1000);
  stream.on('error', (error) => print({ event: 'stream-error', message: String(error) }));
  let reported = 0;
  for (let at = 0; at < data.length; at += chunk) {
    if (!stream.write(data.subarray(at, at + chunk))) await once(stream, 'drain');
    if (at + chunk - reported >= 64 * 1024) {
      reported = at + chunk;
      print({ event: 'progress', sent: Math.min(reported, data.length) });
    }
    if (pauseMs > 0) await sleep(pauseMs);
  }
  stream.end();
  await once(stream, 'finish');
  print({ event: 'sent', bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') });
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  let command;
  try {
    command = JSON.parse(line);
  } catch {
    return;
  }
  const run = async () => {
    switch (command.cmd) {
      case 'connect':
        try {
          print({ event: 'tunnel', ...(await manager.ensureTunnel(command.node, { timeoutMs: 20_000 })) });
        } catch (error) {
          print({ event: 'tunnel-error', code: error.code, message: error.message });
        }
        break;
      case 'send':
        await send(command);
        break;
      case 'peer':
        print({ event: 'peer', ...(manager.peer(command.node) ?? {}) });
        break;
      case 'stats':
        print({ event: 'stats', stats: manager.stats });
        break;
    }
  };
  run().catch((error) => print({ event: 'command-error', cmd: command.cmd, message: String(error) }));
});
lines.on('close', async () => {
  await transport.close();
  await manager.close();
  client.close();
  process.exit(0);
});
