// Throughput of the tunnel cipher and the signature / key-agreement rates, for both backends, each
// printed as an absolute figure and as a ratio to bare node:crypto measured in the same run.
// Run with `pnpm run bench` after `pnpm run build`. Takes about 20 s (BENCH_MS sets the time per figure).
import * as nc from 'node:crypto';
import {
  availableBackends,
  createTunnelOpener,
  createTunnelSealer,
  createVerifier,
  deriveTunnelKey,
  generateX25519KeyPair,
  identityFromSeed,
  sign,
  verify,
} from '../dist/index.js';

const MIN_MS = Number(process.env.BENCH_MS ?? 1000);
const ROUNDS = 5;

/** Operations per second of `fn` over about `ms` milliseconds, after a short warm-up. */
function once(fn, batch, ms) {
  const warm = performance.now();
  while (performance.now() - warm < 100) for (let i = 0; i < batch; i++) fn();
  let count = 0;
  const start = performance.now();
  let now = start;
  do {
    for (let i = 0; i < batch; i++) fn();
    count += batch;
    now = performance.now();
  } while (now - start < ms);
  return count / ((now - start) / 1000);
}

/**
 * Measures each variant of a group in turn, ROUNDS times, and keeps each variant's median: on a
 * busy machine the load drifts, and interleaving spreads the drift over baseline and variants alike.
 * The order rotates every round so that no variant always pays for the garbage its predecessor
 * left (noble allocates a lot); the warm-up absorbs most of that too.
 * `variants` maps a name to [fn, batch]; returns name -> ops/s.
 */
function group(variants) {
  const samples = new Map(Object.keys(variants).map((name) => [name, []]));
  const entries = Object.entries(variants);
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < entries.length; k++) {
      const [name, [fn, batch]] = entries[(k + round) % entries.length];
      samples.get(name).push(once(fn, batch, MIN_MS / ROUNDS));
    }
  }
  const out = {};
  for (const [name, values] of samples)
    out[name] = values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
  return out;
}

const rows = [];
function report(groupName, name, value, unit, baseline) {
  const ratio = value / baseline;
  rows.push({
    group: groupName,
    name,
    value: Number(value.toFixed(1)),
    unit,
    ratio: Number(ratio.toFixed(3)),
  });
  console.log(
    `${groupName.padEnd(18)} ${name.padEnd(40)} ${value.toFixed(unit === 'MB/s' ? 1 : 0).padStart(9)} ${unit.padEnd(6)} ${ratio.toFixed(3).padStart(7)}x`,
  );
}

console.log(
  `node ${process.version}, ${MIN_MS} ms per figure; ratio = ours / bare node:crypto in this run\n`,
);

// AES-256-GCM: seal + open of one PILS frame.
const key = nc.randomBytes(32);
for (const size of [1024, 65536]) {
  const packet = new Uint8Array(nc.randomBytes(size));
  const name = `seal+open ${size === 1024 ? '1 KiB' : '64 KiB'}`;
  const batch = size === 1024 ? 64 : 4;
  const aad = Uint8Array.of(0, 0, 0, 1);
  const nonce = Buffer.alloc(12);
  let counter = 0;
  const bareLoop = () => {
    nonce.writeUInt32BE(++counter, 8);
    const c = nc.createCipheriv('aes-256-gcm', key, nonce);
    c.setAAD(aad);
    const body = c.update(packet);
    c.final();
    const tag = c.getAuthTag();
    const d = nc.createDecipheriv('aes-256-gcm', key, nonce);
    d.setAAD(aad);
    d.setAuthTag(tag);
    d.update(body);
    d.final();
  };
  const ours = (backend) => {
    const sealer = createTunnelSealer({ key, senderNode: 1, backend });
    const opener = createTunnelOpener({ key, peerNode: 1, backend });
    return () => opener.open(sealer.seal(packet));
  };
  const hasNative = availableBackends().includes('native');
  const r = group({
    bare: [bareLoop, batch],
    ...(hasNative ? { native: [ours('native'), batch] } : {}),
    node: [ours('node'), batch],
    noble: [ours('noble'), 1],
  });
  const mb = (opsPerSecond) => (opsPerSecond * size) / 1e6;
  report(name, 'bare node:crypto createCipheriv loop', mb(r.bare), 'MB/s', mb(r.bare));
  if (hasNative) report(name, '@pilot/crypto native (addon)', mb(r.native), 'MB/s', mb(r.bare));
  else console.log(`${name.padEnd(18)} native addon not built: see the README, "Backends"`);
  report(name, '@pilot/crypto node', mb(r.node), 'MB/s', mb(r.bare));
  report(name, '@pilot/crypto noble', mb(r.noble), 'MB/s', mb(r.bare));
}
console.log('');

// Ed25519.
const seed = nc.randomBytes(32);
const message = new TextEncoder().encode('register:12345:1700000000');
const identity = identityFromSeed(seed);
const signature = sign(identity, message);
const b64u = (b) => Buffer.from(b).toString('base64url');
const privateKey = nc.createPrivateKey({
  key: { kty: 'OKP', crv: 'Ed25519', d: b64u(seed), x: b64u(identity.publicKey) },
  format: 'jwk',
});
const publicKey = nc.createPublicKey({
  key: { kty: 'OKP', crv: 'Ed25519', x: b64u(identity.publicKey) },
  format: 'jwk',
});

const verifiers = {
  node: createVerifier(identity.publicKey, { backend: 'node' }),
  noble: createVerifier(identity.publicKey, { backend: 'noble' }),
};
const ed = group({
  bareSign: [() => nc.sign(null, message, privateKey), 16],
  signNode: [() => sign(identity, message, { backend: 'node' }), 16],
  signNoble: [() => sign(identity, message, { backend: 'noble' }), 1],
  bareVerify: [() => nc.verify(null, message, publicKey, signature), 8],
  verifierNode: [() => verifiers.node.verify(signature, message), 8],
  // A registry sees a new key array per request (decoded from base64): no KeyObject memo hit.
  verifyNode: [() => verify(signature, message, identity.publicKey.slice(), { backend: 'node' }), 8],
  verifierNoble: [() => verifiers.noble.verify(signature, message), 1],
  verifyNoble: [() => verify(signature, message, identity.publicKey.slice(), { backend: 'noble' }), 1],
});
report('Ed25519 sign', 'bare node:crypto, cached KeyObject', ed.bareSign, 'ops/s', ed.bareSign);
report('Ed25519 sign', 'sign() node', ed.signNode, 'ops/s', ed.bareSign);
report('Ed25519 sign', 'sign() noble', ed.signNoble, 'ops/s', ed.bareSign);
report('Ed25519 verify', 'bare node:crypto, cached KeyObject', ed.bareVerify, 'ops/s', ed.bareVerify);
report('Ed25519 verify', 'createVerifier().verify node', ed.verifierNode, 'ops/s', ed.bareVerify);
report('Ed25519 verify', 'verify() new key array each call, node', ed.verifyNode, 'ops/s', ed.bareVerify);
report('Ed25519 verify', 'createVerifier().verify noble', ed.verifierNoble, 'ops/s', ed.bareVerify);
report('Ed25519 verify', 'verify() new key array each call, noble', ed.verifyNoble, 'ops/s', ed.bareVerify);
console.log('');

// X25519 + HKDF: the tunnel key of a new peer.
const ours = generateX25519KeyPair();
const peer = generateX25519KeyPair();
const ourKey = nc.createPrivateKey({
  key: { kty: 'OKP', crv: 'X25519', d: b64u(ours.privateKey), x: b64u(ours.publicKey) },
  format: 'jwk',
});
const peerKey = nc.createPublicKey({
  key: { kty: 'OKP', crv: 'X25519', x: b64u(peer.publicKey) },
  format: 'jwk',
});
const empty = new Uint8Array(0);
const x = group({
  bare: [
    () =>
      nc.hkdfSync(
        'sha256',
        nc.diffieHellman({ privateKey: ourKey, publicKey: peerKey }),
        empty,
        'pilot-tunnel-v1',
        32,
      ),
    16,
  ],
  node: [() => deriveTunnelKey(ours.privateKey, peer.publicKey.slice(), { backend: 'node' }), 16],
  noble: [() => deriveTunnelKey(ours.privateKey, peer.publicKey.slice(), { backend: 'noble' }), 1],
});
report('X25519 + HKDF', 'bare node:crypto, cached KeyObjects', x.bare, 'ops/s', x.bare);
report('X25519 + HKDF', 'deriveTunnelKey() new peer array, node', x.node, 'ops/s', x.bare);
report('X25519 + HKDF', 'deriveTunnelKey() new peer array, noble', x.noble, 'ops/s', x.bare);

if (process.env.BENCH_JSON) console.log(JSON.stringify(rows));
