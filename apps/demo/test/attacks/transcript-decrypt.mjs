// The attacker of attack 6, after the session: it holds a captured transcript (transcript-tap.mjs)
// and the static keys of both ends — each daemon's X25519 key file (its Ed25519 identity signs
// only, it seals nothing) — and tries to read the sealed traffic with node:crypto alone (none of
// our packages):
//   1. the spec's tunnel key, HKDF(X25519(static, peer's static from its PILA), "pilot-tunnel-v1"),
//      on every PILS frame (all a reference tunnel, or ours before forward secrecy, needs);
//   2. for forward-secret sessions, the session derivation (packages/crypto/src/session-keys.ts) for
//      every pair of ephemeral public keys seen on the wire (in the PILX after each PILA), with the
//      ephemeral–ephemeral secret it cannot compute replaced by every value it can.
// Usage: node transcript-decrypt.mjs <capture file>[,<capture file>…] <marker text> <x25519 key file>...
// Prints {"frames":N,"pils":N,"pila":N,"pilx":N,"ephemerals":N,"keys":N,"opened":N,"marker":bool}.
import * as nc from 'node:crypto';
import { readFileSync } from 'node:fs';

const [capture, marker, ...keyFiles] = process.argv.slice(2);
const datagrams = capture
  .split(',')
  .flatMap((file) => readFileSync(file, 'utf8').split('\n'))
  .filter((line) => line.startsWith('{'))
  .map((line) => Buffer.from(JSON.parse(line).hex, 'hex'));

const pkcs8 = (d) =>
  nc.createPrivateKey({
    key: Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), d]),
    format: 'der',
    type: 'pkcs8',
  });
const spki = (x) =>
  nc.createPublicKey({
    key: Buffer.concat([Buffer.from('302a300506032b656e032100', 'hex'), x]),
    format: 'der',
    type: 'spki',
  });
const publicOf = (d) => nc.createPublicKey(pkcs8(d)).export({ format: 'der', type: 'spki' }).subarray(12);
const dh = (d, x) => {
  try {
    return nc.diffieHellman({ privateKey: pkcs8(d), publicKey: spki(x) });
  } catch {
    return Buffer.alloc(32);
  }
};
const hkdf = (ikm, salt, info, length) =>
  Buffer.from(nc.hkdfSync('sha256', ikm, salt, Buffer.from(info), length));

/** The static private keys the attacker holds, by public key (hex). */
const statics = new Map();
for (const file of keyFiles) {
  const d = Buffer.from(JSON.parse(readFileSync(file, 'utf8')).private_key, 'base64');
  statics.set(publicOf(d).toString('hex'), d);
}

// Unwrap relay frames (beacon 0x05 relay, 0x06 relay deliver) to the tunnel frame inside.
const frames = datagrams.map((d) => (d[0] === 0x05 ? d.subarray(9) : d[0] === 0x06 ? d.subarray(5) : d));
const magic = (f) => f.subarray(0, 4).toString('latin1');
const pilas = frames.filter((f) => magic(f) === 'PILA' && f.length >= 136);
const pils = frames.filter((f) => magic(f) === 'PILS' && f.length >= 36);
/** node → { static: Buffer, ephemerals: Set<hex> } from PILAs and their PILX. */
const nodes = new Map();
let pilx = 0;
for (const f of pilas) {
  const node = f.readUInt32BE(4);
  const entry = nodes.get(node) ?? { static: f.subarray(8, 40), ephemerals: new Set() };
  entry.static = f.subarray(8, 40);
  nodes.set(node, entry);
  if (f.length >= 136 + 84 && magic(f.subarray(136)) === 'PILX') {
    pilx++;
    const e = f.subarray(136 + 20, 136 + 52);
    if (e.some((b) => b !== 0)) entry.ephemerals.add(e.toString('hex'));
  }
}

// A control for the test only: TRANSCRIPT_CONTROL_EE (hex, comma-separated) adds ee values the
// attacker could not know, to show that given the one missing secret this very script reads a session.
const control = (process.env.TRANSCRIPT_CONTROL_EE ?? '')
  .split(',')
  .filter((hex) => hex.length === 64)
  .map((hex) => Buffer.from(hex, 'hex'));
const candidateKeys = [];
const ids = [...nodes.keys()].sort((a, b) => a - b);
for (let i = 0; i < ids.length; i++) {
  for (let j = i + 1; j < ids.length; j++) {
    const low = nodes.get(ids[i]);
    const high = nodes.get(ids[j]);
    const dLow = statics.get(low.static.toString('hex'));
    const dHigh = statics.get(high.static.toString('hex'));
    const mine = dLow ?? dHigh;
    if (mine === undefined) continue;
    const ss = dLow !== undefined ? dh(dLow, high.static) : dh(dHigh, low.static);
    candidateKeys.push(hkdf(ss, Buffer.alloc(0), 'pilot-tunnel-v1', 32));
    for (const eLowHex of low.ephemerals) {
      for (const eHighHex of high.ephemerals) {
        const eLow = Buffer.from(eLowHex, 'hex');
        const eHigh = Buffer.from(eHighHex, 'hex');
        const eLowSHigh = dHigh !== undefined ? dh(dHigh, eLow) : Buffer.alloc(32);
        const sLowEHigh = dLow !== undefined ? dh(dLow, eHigh) : Buffer.alloc(32);
        const nodeBytes = Buffer.alloc(8);
        nodeBytes.writeUInt32BE(ids[i], 0);
        nodeBytes.writeUInt32BE(ids[j], 4);
        const transcript = Buffer.concat([
          Buffer.from('pilot-ts fs v1'),
          nodeBytes,
          low.static,
          high.static,
          eLow,
          eHigh,
        ]);
        const standIns = [
          ...control,
          ss,
          eLowSHigh,
          sLowEHigh,
          Buffer.alloc(32),
          dh(mine, eLow),
          dh(mine, eHigh),
        ];
        for (const ee of standIns) {
          const okm = hkdf(
            Buffer.concat([ee, eLowSHigh, sLowEHigh, ss]),
            transcript,
            'pilot-ts fs v1 keys',
            64,
          );
          candidateKeys.push(okm.subarray(0, 32), okm.subarray(32, 64));
        }
      }
    }
  }
}
const ephemerals = [...nodes.values()].reduce((n, entry) => n + entry.ephemerals.size, 0);

let opened = 0;
let found = false;
for (const f of pils) {
  for (const key of candidateKeys) {
    try {
      const decipher = nc.createDecipheriv('aes-256-gcm', key, f.subarray(8, 20));
      decipher.setAAD(f.subarray(4, 8));
      decipher.setAuthTag(f.subarray(f.length - 16));
      const plain = Buffer.concat([decipher.update(f.subarray(20, f.length - 16)), decipher.final()]);
      opened++;
      if (plain.includes(Buffer.from(marker))) found = true;
      break;
    } catch {}
  }
}
process.stdout.write(
  `${JSON.stringify({ frames: frames.length, pils: pils.length, pila: pilas.length, pilx, ephemerals, keys: candidateKeys.length, opened, marker: found })}\n`,
);
