// Beacon floods (issue 15, scenarios 2 and 3), before and after the budgets, same run, real UDP on
// loopback: `node bench/flood.mjs`.
// - Punch reflection: an attacker sends punch requests naming one target with random requester IDs
//   from 50 sockets; we count the punch commands the target receives. Each command makes a daemon
//   send PILP + PILA (4 + 136 bytes) every 150 ms for 6 s: 40 × 196 bytes on the wire with UDP/IP
//   headers, about 7.8 KB; the reference's answer to a command is 3 × PILP (3 × 32 bytes).
//   "before" lifts the per-target and per-requester punch budgets.
// - Spoofed discover: a node registers (with a proof when the beacon knows keys), the attacker sends
//   Discover(node) from its own address, then a third node relays a frame to the node: who gets it?
//   "before" is a beacon without keys where the latest claim wins (unprovenMoveAfterMs 0).
import { createSocket } from 'node:dgram';
import { generateIdentity } from '@pilot/crypto';
import { encodeBeaconMessage } from '@pilot/wire';
import { Beacon, BeaconClient } from '../dist/index.js';

const REQUESTS = Number(process.env.PILOT_FLOOD_PUNCHES ?? 2000);
const DAEMON_BYTES_PER_COMMAND = 40 * (4 + 28 + 136 + 28);
const REFERENCE_BYTES_PER_COMMAND = 3 * (4 + 28);

const udp = () =>
  new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.bind(0, '127.0.0.1', () => resolve(socket));
  });
const close = (socket) => new Promise((resolve) => socket.close(resolve));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const send = (socket, bytes, port) =>
  new Promise((resolve) => socket.send(bytes, port, '127.0.0.1', resolve));

async function punchFlood(lifted, requests = REQUESTS, pauseEvery = 50, pauseMs = 125) {
  const beacon = await Beacon.start({
    host: '127.0.0.1',
    port: 0,
    // The attacker spoofs many source addresses: the per-source rate is lifted in both modes.
    sourceRate: { perSecond: 1e9, burst: 1e9 },
    ...(lifted
      ? {
          punchTargetRate: { perSecond: 1e9, burst: 1e9 },
          punchRequesterRate: { perSecond: 1e9, burst: 1e9 },
        }
      : {}),
  });
  const port = beacon.address().port;
  const target = await udp();
  const client = new BeaconClient(target, { node: 100, beacon: { address: '127.0.0.1', port } });
  await client.discover({ rto: 100, retries: 3 });
  let commands = 0;
  client.onPunchCommand(() => commands++);
  const attackers = await Promise.all(Array.from({ length: 50 }, udp));
  let sent = 0;
  const started = performance.now();
  for (let i = 0; i < requests; i++) {
    const request = encodeBeaconMessage({ type: 'punchRequest', requester: 10_000 + i, target: 100 });
    sent += request.length + 28;
    await send(attackers[i % attackers.length], request, port);
    if (i % pauseEvery === pauseEvery - 1) await sleep(pauseMs);
  }
  const seconds = (performance.now() - started) / 1000;
  await sleep(200);
  client.close();
  await Promise.all([target, ...attackers].map(close));
  await beacon.close();
  return {
    mode: lifted ? 'before' : pauseEvery === 1 ? 'after, 2/s' : 'after',
    requests,
    seconds,
    attackerBytes: sent,
    commands,
    daemonBytes: commands * DAEMON_BYTES_PER_COMMAND,
    referenceBytes: commands * REFERENCE_BYTES_PER_COMMAND,
  };
}

async function spoofedDiscover(lifted) {
  const id = generateIdentity();
  const beacon = await Beacon.start({
    host: '127.0.0.1',
    port: 0,
    ...(lifted ? { unprovenMoveAfterMs: 0 } : { nodeKey: (node) => (node === 9 ? id.publicKey : undefined) }),
  });
  const port = beacon.address().port;
  const beaconAddress = { address: '127.0.0.1', port };
  const victim = await udp();
  const victimClient = new BeaconClient(victim, { node: 9, beacon: beaconAddress, identity: id });
  await victimClient.discover({ rto: 100, retries: 3 });
  const attacker = await udp();
  let toAttacker = 0;
  let toVictim = 0;
  attacker.on('message', (m) => {
    if (m[0] === 0x06) toAttacker++;
  });
  victimClient.onRelayDeliver(() => toVictim++);
  const padded = new Uint8Array(20);
  padded.set(encodeBeaconMessage({ type: 'discover', node: 9 }));
  for (let i = 0; i < 5; i++) await send(attacker, padded, port);
  const sender = await udp();
  const senderClient = new BeaconClient(sender, { node: 10, beacon: beaconAddress });
  await senderClient.discover({ rto: 100, retries: 3 });
  for (let i = 0; i < 10; i++) senderClient.relay(9, new Uint8Array([0x50, 0x49, 0x4c, 0x50]));
  await sleep(200);
  victimClient.close();
  senderClient.close();
  await Promise.all([victim, attacker, sender].map(close));
  await beacon.close();
  return { mode: lifted ? 'before' : 'after', relayedToVictim: toVictim, relayedToAttacker: toAttacker };
}

// The third row: an attacker that stays at the per-target budget (2 requests a second for 10 s).
const punches = [await punchFlood(true), await punchFlood(false), await punchFlood(false, 20, 1, 500)];
const discovers = [await spoofedDiscover(true), await spoofedDiscover(false)];
if (process.argv.includes('--json')) {
  process.stdout.write(`${JSON.stringify({ punches, discovers }, null, 2)}\n`);
} else {
  console.log(`punch reflection: spoofed punch requests (random requester IDs, many sources) for one target`);
  console.log(
    'mode        requests  attacker bytes  commands  victim daemon bytes (ratio)   reference-style answer (ratio)',
  );
  for (const p of punches)
    console.log(
      `${p.mode.padEnd(11)} ${String(p.requests).padStart(8)} ${String(p.attackerBytes).padStart(14)} ${String(p.commands).padStart(9)} ${String(p.daemonBytes).padStart(12)} (${(p.daemonBytes / p.attackerBytes).toFixed(2)}×) ${String(p.referenceBytes).padStart(14)} (${(p.referenceBytes / p.attackerBytes).toFixed(3)}×)`,
    );
  console.log('spoofed discover for a node, then 10 frames relayed to it');
  for (const d of discovers)
    console.log(
      `${d.mode.padEnd(7)} to the node: ${d.relayedToVictim}, to the attacker: ${d.relayedToAttacker}`,
    );
}
