// The forward-secret session of pilot-ts peers: the fixture (computed by node:crypto alone) through
// every backend and through node:crypto again, the symmetry of the two ends, and what an attacker
// holding only the static keys can compute.
import * as nc from 'node:crypto';
import { fromHex, toHex } from '@pilot/testkit';
import { describe, expect, it } from 'vitest';
import {
  deriveSessionKeys,
  generateX25519KeyPair,
  hkdfSha256,
  type SessionKeyInput,
  wipeSessionKeys,
  x25519PublicKey,
  x25519SharedSecret,
} from '../src/index.js';
import { BACKENDS, codeOf, loadVector } from './helpers.js';

interface FsVector {
  name: string;
  lowNode: number;
  highNode: number;
  lowStaticPrivate: string;
  highStaticPrivate: string;
  lowEphemeralPrivate: string;
  highEphemeralPrivate: string;
  lowEphemeralPublic: string;
  highEphemeralPublic: string;
  transcript: string;
  ikm: string;
  keyLowToHigh: string;
  keyHighToLow: string;
  idLowToHigh: number;
  idHighToLow: number;
}

const [v] = loadVector<{ vectors: FsVector[] }>('pilot-ts-fs.json').vectors as [FsVector];
const pair = (hex: string) => {
  const privateKey = fromHex(hex);
  return { privateKey, publicKey: x25519PublicKey(privateKey) };
};

function sides(vector: FsVector): { low: SessionKeyInput; high: SessionKeyInput } {
  const sLow = pair(vector.lowStaticPrivate);
  const sHigh = pair(vector.highStaticPrivate);
  const eLow = pair(vector.lowEphemeralPrivate);
  const eHigh = pair(vector.highEphemeralPrivate);
  return {
    low: {
      ourNode: vector.lowNode,
      peerNode: vector.highNode,
      ourStatic: sLow,
      peerStatic: sHigh.publicKey,
      ourEphemeral: eLow,
      peerEphemeral: eHigh.publicKey,
    },
    high: {
      ourNode: vector.highNode,
      peerNode: vector.lowNode,
      ourStatic: sHigh,
      peerStatic: sLow.publicKey,
      ourEphemeral: eHigh,
      peerEphemeral: eLow.publicKey,
    },
  };
}

describe('forward-secret session keys', () => {
  it('node:crypto itself agrees with the fixture', () => {
    const okm = Buffer.from(
      nc.hkdfSync('sha256', fromHex(v.ikm), fromHex(v.transcript), Buffer.from('pilot-ts fs v1 keys'), 72),
    );
    expect(okm.subarray(0, 32).toString('hex')).toBe(v.keyLowToHigh);
    expect(okm.subarray(32, 64).toString('hex')).toBe(v.keyHighToLow);
    expect(okm.readUInt32BE(64)).toBe(v.idLowToHigh);
    expect(okm.readUInt32BE(68)).toBe(v.idHighToLow);
    // The last DH of the IKM is the static–static secret: RFC 7748 §6.1's shared secret.
    expect(v.ikm.slice(192)).toBe('4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742');
    expect(toHex(x25519PublicKey(fromHex(v.lowEphemeralPrivate)))).toBe(v.lowEphemeralPublic);
  });

  it.each(BACKENDS)('%s: both ends derive the fixture, each with its own direction', (backend) => {
    const { low, high } = sides(v);
    const a = deriveSessionKeys(low, { backend });
    const b = deriveSessionKeys(high, { backend });
    expect(toHex(a.sendKey)).toBe(v.keyLowToHigh);
    expect(toHex(a.receiveKey)).toBe(v.keyHighToLow);
    expect([a.sendId, a.receiveId]).toEqual([v.idLowToHigh, v.idHighToLow]);
    expect(toHex(b.sendKey)).toBe(v.keyHighToLow);
    expect(toHex(b.receiveKey)).toBe(v.keyLowToHigh);
    expect([b.sendId, b.receiveId]).toEqual([v.idHighToLow, v.idLowToHigh]);
  });

  it('the two directions never share a key, and a new ephemeral key gives new keys', () => {
    const { low, high } = sides(v);
    const a = deriveSessionKeys(low);
    expect(toHex(a.sendKey)).not.toBe(toHex(a.receiveKey));
    const fresh = generateX25519KeyPair();
    const c = deriveSessionKeys({ ...low, ourEphemeral: fresh });
    const d = deriveSessionKeys({ ...high, peerEphemeral: fresh.publicKey });
    expect(toHex(c.sendKey)).toBe(toHex(d.receiveKey));
    expect(toHex(c.sendKey)).not.toBe(toHex(a.sendKey));
  });

  it('the static keys and everything on the wire do not give the session key', () => {
    // What an attacker holds after the session: both static private keys, both ephemeral PUBLIC
    // keys (they crossed the wire). Everything it can compute without an ephemeral private key:
    const { low } = sides(v);
    const sLow = fromHex(v.lowStaticPrivate);
    const sHigh = fromHex(v.highStaticPrivate);
    const eLowPub = fromHex(v.lowEphemeralPublic);
    const eHighPub = fromHex(v.highEphemeralPublic);
    const ss = x25519SharedSecret(sLow, x25519PublicKey(sHigh));
    const sLowEHigh = x25519SharedSecret(sLow, eHighPub);
    const eLowSHigh = x25519SharedSecret(sHigh, eLowPub);
    const info = new TextEncoder().encode('pilot-ts fs v1 keys');
    const transcript = fromHex(v.transcript);
    const guesses = [
      // the spec's static tunnel key, and the fs derivation with ee replaced by every value it can make
      hkdfSha256(ss, new Uint8Array(0), new TextEncoder().encode('pilot-tunnel-v1'), 32),
      ...[ss, sLowEHigh, eLowSHigh, new Uint8Array(32)].map((guess) => {
        const ikm = new Uint8Array(128);
        ikm.set(guess, 0);
        ikm.set(eLowSHigh, 32);
        ikm.set(sLowEHigh, 64);
        ikm.set(ss, 96);
        return hkdfSha256(ikm, transcript, info, 32);
      }),
    ];
    const real = deriveSessionKeys(low).sendKey;
    for (const guess of guesses) expect(toHex(guess)).not.toBe(toHex(real));
  });

  it('refuses equal nodes, bad lengths and low-order ephemeral keys', () => {
    const { low } = sides(v);
    expect(codeOf(() => deriveSessionKeys({ ...low, peerNode: low.ourNode }))).toBe('CRYPTO_OUT_OF_RANGE');
    expect(codeOf(() => deriveSessionKeys({ ...low, peerEphemeral: new Uint8Array(31) }))).toBe(
      'CRYPTO_BAD_KEY',
    );
    expect(codeOf(() => deriveSessionKeys({ ...low, peerEphemeral: new Uint8Array(32) }))).toBe(
      'CRYPTO_BAD_KEY',
    );
    expect(codeOf(() => deriveSessionKeys({ ...low, ourNode: -1 }))).toBe('CRYPTO_OUT_OF_RANGE');
  });

  it('wipeSessionKeys zeroes the keys', () => {
    const keys = deriveSessionKeys(sides(v).low);
    const extra = Uint8Array.of(1, 2, 3);
    wipeSessionKeys(keys, extra);
    expect(keys.sendKey.every((b) => b === 0) && keys.receiveKey.every((b) => b === 0)).toBe(true);
    expect([...extra]).toEqual([0, 0, 0]);
  });
});
