// The attacker of the registry flood: `node flood-attacker.mjs <port> <slow> <held> <registers> <networks>`.
// - <slow> connections from 127.0.0.2… (64 per address, the per-IP cap), each announcing a 1 MiB
//   frame, sending <held> bytes of it, then one byte a second (a slowloris);
// - a register flood: <registers> unsigned registrations as fast as the server answers, reconnecting
//   when the registry hangs up;
// - a network-ID flood: one node creating <networks> networks (fresh signatures).
// Prints one JSON line when everything is under way, then keeps the connections until stdin closes.
import { connect } from 'node:net';
import { Challenge, createSigner, DirectoryClient, signChallenge, toBase64 } from '../dist/index.js';

const [port, slow, held, registers, networks] = process.argv.slice(2).map(Number);

// The three floods run at once: the network-ID flood and the register flood start first (a registry
// shedding new connections during the slow-connection flood would otherwise refuse them).
const owner = createSigner();
const creator = await DirectoryClient.connect({ host: '127.0.0.1', port, reconnectAttempts: 1 });
const { nodeId } = await creator.register(owner, { listenAddr: ':4000' });
// The network-ID flood: one registered node asks for network after network.
let created = 0;
let createRefused = 0;
const networkFlood = (async () => {
  for (let i = 0; i < networks; i++) {
    const name = `flood-${i}`;
    await creator
      .request(() => ({
        type: 'create_network',
        node_id: nodeId,
        name,
        join_rule: 'open',
        ...signChallenge(owner, Challenge.createNetwork(nodeId, name)),
      }))
      .then(
        () => created++,
        () => createRefused++,
      );
  }
})();
// The register flood, from one address (127.0.100.1, not the real node's), started before the
// slow connections: 16 workers, each pipelining one unsigned registration every 10 ms (the
// per-connection rate), about 1,600 a second offered in all; a worker whose connection is closed
// (a hang-up, a refused connect) reconnects after 20 ms, as a determined attacker would.
let registered = 0;
let registerRefused = 0;
let registerConnects = 0;
let registerStop = false;
const registerSockets = new Set();
const registerWorker = async (per) => {
  let sent = 0;
  let answered = 0;
  while (answered < per && !registerStop) {
    await new Promise((resolve) => {
      const socket = connect({ host: '127.0.0.1', port, localAddress: '127.0.100.1' }, () => {
        registerConnects++;
        const timer = setInterval(() => {
          if (sent >= per || socket.destroyed || registerStop) {
            clearInterval(timer);
            return;
          }
          sent++;
          const body = Buffer.from(
            JSON.stringify({
              type: 'register',
              public_key: toBase64(createSigner().publicKey),
              listen_addr: ':4000',
            }),
          );
          const frame = Buffer.alloc(4 + body.length);
          frame.writeUInt32BE(body.length);
          body.copy(frame, 4);
          socket.write(frame);
        }, 10);
        socket.once('close', () => clearInterval(timer));
      });
      // Also while it connects: the deadline must end a worker whatever its connection's state.
      registerSockets.add(socket);
      let pending = Buffer.alloc(0);
      socket.on('data', (chunk) => {
        pending = Buffer.concat([pending, chunk]);
        while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32BE(0)) {
          const length = pending.readUInt32BE(0);
          const reply = JSON.parse(pending.subarray(4, 4 + length).toString());
          pending = pending.subarray(4 + length);
          answered++;
          if (reply.type === 'register_ok') registered++;
          else registerRefused++;
          if (answered >= per) socket.destroy();
        }
      });
      socket.on('error', () => {});
      socket.on('close', () => {
        registerSockets.delete(socket);
        // What was sent and not answered is lost with the connection: send it again.
        sent = answered;
        resolve();
      });
    });
    if (answered < per && !registerStop) await new Promise((resolve) => setTimeout(resolve, 20));
  }
};
const registerFlood = Promise.all(
  Array.from({ length: 16 }, () => registerWorker(Math.ceil(registers / 16))),
);
// Ends the register flood when the bench's measurement does (a refused worker would go on forever).
const registerDeadline = setTimeout(
  () => {
    registerStop = true;
    for (const socket of registerSockets) socket.destroy();
  },
  Number(process.env.PILOT_FLOOD_SECONDS ?? 15) * 1000,
);

const sockets = [];
let opened = 0;
let refused = 0;
const chunk = Buffer.alloc(Math.max(0, held), 0x20);
const header = Buffer.alloc(4);
header.writeUInt32BE(1 << 20);
const connectOne = (i) =>
  new Promise((resolve) => {
    const localAddress = `127.0.${1 + Math.floor(i / 64 / 250)}.${2 + (Math.floor(i / 64) % 250)}`;
    const socket = connect({ host: '127.0.0.1', port, localAddress }, () => {
      opened++;
      socket.write(header);
      if (chunk.length > 0) socket.write(chunk);
      resolve();
    });
    socket.on('error', () => {
      refused++;
      resolve();
    });
    socket.on('close', () => {});
    sockets.push(socket);
  });
for (let i = 0; i < slow; i += 200) {
  await Promise.all(Array.from({ length: Math.min(200, slow - i) }, (_, j) => connectOne(i + j)));
}
const trickle = setInterval(() => {
  for (const socket of sockets) if (!socket.destroyed) socket.write(Buffer.from([0x20]));
}, 1000);

await Promise.all([registerFlood, networkFlood]);
clearTimeout(registerDeadline);
const alive = sockets.filter((s) => !s.destroyed).length;
process.stdout.write(
  `${JSON.stringify({ opened, refused, alive, registered, registerRefused, registerConnects, created, createRefused })}\n`,
);
process.stdin.resume();
process.stdin.on('end', () => {
  clearInterval(trickle);
  for (const socket of sockets) socket.destroy();
  creator.close();
  process.exit(0);
});
