// The sealing fast path with a forward-secret session (SessionCrypto: per-direction key, key-ID
// prefix, byte budget counted per frame) against the spec's static key (PeerCrypto), same run,
// interleaved: sealInto into one reused buffer, then openInPlace, as the tunnel does per datagram.
//   BENCH_FRAMES  frames per round (default 20000)   BENCH_SIZE  packet bytes (default 1200)
import { deriveSessionKeys, generateX25519KeyPair, SEALED_FRAME_OVERHEAD } from '@pilot/crypto';
import { PeerCrypto } from '../dist/peer-crypto.js';
import { SessionCrypto } from '../dist/session-crypto.js';

const FRAMES = Number(process.env.BENCH_FRAMES ?? 20_000);
const SIZE = Number(process.env.BENCH_SIZE ?? 1200);
const ROUNDS = 7;
const [A, B] = [1, 2];
const sa = generateX25519KeyPair();
const sb = generateX25519KeyPair();

function staticPair() {
  return [
    new PeerCrypto(sa.privateKey, sb.publicKey, A, B),
    new PeerCrypto(sb.privateKey, sa.publicKey, B, A),
  ];
}

function sessionPair() {
  const ea = generateX25519KeyPair();
  const eb = generateX25519KeyPair();
  const ka = deriveSessionKeys({
    ourNode: A,
    peerNode: B,
    ourStatic: sa,
    peerStatic: sb.publicKey,
    ourEphemeral: ea,
    peerEphemeral: eb.publicKey,
  });
  const kb = deriveSessionKeys({
    ourNode: B,
    peerNode: A,
    ourStatic: sb,
    peerStatic: sa.publicKey,
    ourEphemeral: eb,
    peerEphemeral: ea.publicKey,
  });
  const a = new SessionCrypto({ peerX25519: sb.publicKey, ourNode: A, peerNode: B, onRekeyDue: () => {} });
  const b = new SessionCrypto({ peerX25519: sa.publicKey, ourNode: B, peerNode: A, onRekeyDue: () => {} });
  a.install(ka, true, 0);
  b.install(kb, true, 0);
  return [a, b];
}

function run([sender, receiver]) {
  const packet = new Uint8Array(SIZE).fill(7);
  const frame = new Uint8Array(SIZE + SEALED_FRAME_OVERHEAD);
  const start = process.hrtime.bigint();
  for (let i = 0; i < FRAMES; i++) {
    sender.sealInto(packet, frame, 0);
    if (!receiver.open(frame, true).ok) throw new Error('open failed');
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return (FRAMES * SIZE) / seconds / 1e6;
}

const results = { static: [], session: [] };
run(staticPair());
run(sessionPair());
for (let round = 0; round < ROUNDS; round++) {
  results.static.push(run(staticPair()));
  results.session.push(run(sessionPair()));
}
const median = (values) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)];
const s = median(results.static);
const f = median(results.session);
console.log(
  `sealInto + openInPlace, ${SIZE}-byte packets, ${FRAMES} frames × ${ROUNDS} rounds (medians, MB/s):`,
);
console.log(`| keys | MB/s | ratio to static |`);
console.log(`| --- | --- | --- |`);
console.log(`| static (PeerCrypto, reference peers) | ${s.toFixed(1)} | 1.00 |`);
console.log(`| forward-secret session (SessionCrypto) | ${f.toFixed(1)} | ${(f / s).toFixed(2)} |`);
