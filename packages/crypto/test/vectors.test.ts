// Every published vector, through both backends and through node:crypto directly (so a vector
// copied wrongly into the JSON fails against OpenSSL, not only against our code).
import * as nc from 'node:crypto';
import { fromHex, toHex } from '@pilot/testkit';
import { describe, expect, it } from 'vitest';
import {
  createAuthKeyExchange,
  createTunnelOpener,
  createTunnelSealer,
  deriveTunnelKey,
  getCryptoBackend,
  hkdfSha256,
  identityFromSeed,
  sign,
  verify,
  verifyAuthKeyExchange,
  x25519PublicKey,
  x25519SharedSecret,
} from '../src/index.js';
import { BACKENDS, loadVector } from './helpers.js';

interface EdVector {
  name: string;
  secretKey: string;
  publicKey: string;
  message: string;
  signature: string;
}
interface XVectors {
  scalarMult: { name: string; scalar: string; u: string; output: string }[];
  iterated: { start: string; after1: string; after1000: string };
  diffieHellman: {
    alicePrivate: string;
    alicePublic: string;
    bobPrivate: string;
    bobPublic: string;
    shared: string;
  };
}
interface HkdfVector {
  name: string;
  ikm: string;
  salt: string;
  info: string;
  length: number;
  prk: string;
  okm: string;
}
interface GcmVector {
  name: string;
  key: string;
  iv: string;
  plaintext: string;
  aad: string;
  ciphertext: string;
  tag: string;
}
interface PilotVectors {
  tunnelKey: {
    alicePrivate: string;
    bobPublic: string;
    bobPrivate: string;
    alicePublic: string;
    shared: string;
    key: string;
  };
  pils: {
    senderNode: number;
    prefix: string;
    counter: number;
    key: string;
    plaintext: string;
    frame: string;
  };
  pila: {
    nodeId: number;
    ed25519Seed: string;
    ed25519PublicKey: string;
    x25519PublicKey: string;
    frame: string;
  };
  registrySignature: { ed25519Seed: string; message: string; signature: string };
}

const ed = loadVector<{ vectors: EdVector[] }>('ed25519-rfc8032.json').vectors;
const x = loadVector<XVectors>('x25519-rfc7748.json');
const hkdf = loadVector<{ vectors: HkdfVector[] }>('hkdf-sha256-rfc5869.json').vectors;
const gcm = loadVector<{ vectors: GcmVector[] }>('aes-256-gcm-mcgrew-viega.json').vectors;
const pilot = loadVector<PilotVectors>('pilot-reference.json');

const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url');

describe('RFC 8032 Ed25519', () => {
  it.each(ed)('$name: node:crypto itself agrees with the vector', (v) => {
    const key = nc.createPrivateKey({
      key: Buffer.concat([fromHex('302e020100300506032b657004220420'), fromHex(v.secretKey)]),
      format: 'der',
      type: 'pkcs8',
    });
    expect(toHex(nc.sign(null, fromHex(v.message), key))).toBe(v.signature);
  });

  for (const backend of BACKENDS) {
    it.each(ed)(`$name (${backend})`, (v) => {
      const identity = identityFromSeed(fromHex(v.secretKey), { backend });
      expect(toHex(identity.publicKey)).toBe(v.publicKey);
      expect(toHex(sign(identity, fromHex(v.message), { backend }))).toBe(v.signature);
      expect(verify(fromHex(v.signature), fromHex(v.message), fromHex(v.publicKey), { backend })).toBe(true);
      const flipped = fromHex(v.signature);
      flipped[5] = flipped[5]! ^ 1;
      expect(verify(flipped, fromHex(v.message), fromHex(v.publicKey), { backend })).toBe(false);
    });
  }
});

describe('RFC 7748 X25519', () => {
  function opensslX25519(scalar: Uint8Array, u: Uint8Array): string {
    const privateKey = nc.createPrivateKey({
      key: { kty: 'OKP', crv: 'X25519', d: b64u(scalar), x: b64u(new Uint8Array(32)) },
      format: 'jwk',
    });
    const publicKey = nc.createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64u(u) }, format: 'jwk' });
    return toHex(nc.diffieHellman({ privateKey, publicKey }));
  }

  it.each(x.scalarMult)('$name: node:crypto itself agrees', (v) => {
    expect(opensslX25519(fromHex(v.scalar), fromHex(v.u))).toBe(v.output);
  });

  for (const backend of BACKENDS) {
    it.each(x.scalarMult)(`$name (${backend})`, (v) => {
      expect(toHex(x25519SharedSecret(fromHex(v.scalar), fromHex(v.u), { backend }))).toBe(v.output);
    });

    it(`§5.2 iterated 1 and 1,000 times (${backend})`, () => {
      let k = fromHex(x.iterated.start);
      let u = fromHex(x.iterated.start);
      for (let i = 1; i <= 1000; i++) {
        const next = x25519SharedSecret(k, u, { backend });
        u = k;
        k = next;
        if (i === 1) expect(toHex(k)).toBe(x.iterated.after1);
      }
      expect(toHex(k)).toBe(x.iterated.after1000);
    });

    it(`§6.1 Alice and Bob (${backend})`, () => {
      const dh = x.diffieHellman;
      expect(toHex(x25519PublicKey(fromHex(dh.alicePrivate), { backend }))).toBe(dh.alicePublic);
      expect(toHex(x25519PublicKey(fromHex(dh.bobPrivate), { backend }))).toBe(dh.bobPublic);
      expect(toHex(x25519SharedSecret(fromHex(dh.alicePrivate), fromHex(dh.bobPublic), { backend }))).toBe(
        dh.shared,
      );
      expect(toHex(x25519SharedSecret(fromHex(dh.bobPrivate), fromHex(dh.alicePublic), { backend }))).toBe(
        dh.shared,
      );
    });
  }

  it('§6.1 shared secret: node:crypto itself agrees', () => {
    const dh = x.diffieHellman;
    expect(opensslX25519(fromHex(dh.alicePrivate), fromHex(dh.bobPublic))).toBe(dh.shared);
  });
});

describe('RFC 5869 HKDF-SHA256', () => {
  it.each(hkdf)('$name: node:crypto itself agrees (OKM and PRK)', (v) => {
    const okm = nc.hkdfSync('sha256', fromHex(v.ikm), fromHex(v.salt), fromHex(v.info), v.length);
    expect(toHex(new Uint8Array(okm))).toBe(v.okm);
    expect(nc.createHmac('sha256', fromHex(v.salt)).update(fromHex(v.ikm)).digest('hex')).toBe(v.prk);
  });

  for (const backend of BACKENDS) {
    it.each(hkdf)(`$name (${backend})`, (v) => {
      expect(toHex(hkdfSha256(fromHex(v.ikm), fromHex(v.salt), fromHex(v.info), v.length, { backend }))).toBe(
        v.okm,
      );
    });
  }
});

describe('GCM spec AES-256 test cases 13-18', () => {
  it.each(gcm)('$name: node:crypto itself agrees', (v) => {
    const cipher = nc.createCipheriv('aes-256-gcm', fromHex(v.key), fromHex(v.iv));
    cipher.setAAD(fromHex(v.aad));
    const body = Buffer.concat([cipher.update(fromHex(v.plaintext)), cipher.final()]);
    expect(toHex(body)).toBe(v.ciphertext);
    expect(toHex(cipher.getAuthTag())).toBe(v.tag);
  });

  for (const backend of BACKENDS) {
    it.each(gcm)(`$name (${backend})`, (v) => {
      const aead = getCryptoBackend(backend).aes256Gcm(fromHex(v.key));
      const plaintext = fromHex(v.plaintext);
      const out = new Uint8Array(plaintext.length + 16);
      aead.sealInto(fromHex(v.iv), fromHex(v.aad), plaintext, out, 0);
      expect(toHex(out)).toBe(v.ciphertext + v.tag);
      expect(toHex(aead.open(fromHex(v.iv), fromHex(v.aad), out)!)).toBe(v.plaintext);
      out[out.length - 1] = out[out.length - 1]! ^ 0x80;
      expect(aead.open(fromHex(v.iv), fromHex(v.aad), out)).toBeUndefined();
    });
  }
});

describe('Pilot reference vectors (§4.3)', () => {
  for (const backend of BACKENDS) {
    it(`tunnel key from the RFC 7748 keys, both ways (${backend})`, () => {
      const t = pilot.tunnelKey;
      expect(toHex(x25519SharedSecret(fromHex(t.alicePrivate), fromHex(t.bobPublic), { backend }))).toBe(
        t.shared,
      );
      expect(toHex(deriveTunnelKey(fromHex(t.alicePrivate), fromHex(t.bobPublic), { backend }))).toBe(t.key);
      expect(toHex(deriveTunnelKey(fromHex(t.bobPrivate), fromHex(t.alicePublic), { backend }))).toBe(t.key);
    });

    it(`PILS frame of the SYN vector, byte for byte (${backend})`, () => {
      const p = pilot.pils;
      const sealer = createTunnelSealer({
        key: fromHex(p.key),
        senderNode: p.senderNode,
        prefix: fromHex(p.prefix),
        firstCounter: p.counter,
        backend,
      });
      expect(toHex(sealer.seal(fromHex(p.plaintext)))).toBe(p.frame);
      const opener = createTunnelOpener({ key: fromHex(p.key), peerNode: p.senderNode, backend });
      const opened = opener.openFrame(fromHex(p.frame));
      expect(toHex(opened.plaintext)).toBe(p.plaintext);
      expect(opened.counter).toBe(1n);
    });

    it(`PILA frame, byte for byte, and its verification (${backend})`, () => {
      const p = pilot.pila;
      const identity = identityFromSeed(fromHex(p.ed25519Seed), { backend });
      expect(toHex(identity.publicKey)).toBe(p.ed25519PublicKey);
      expect(toHex(createAuthKeyExchange(identity, p.nodeId, fromHex(p.x25519PublicKey), { backend }))).toBe(
        p.frame,
      );
      const verified = verifyAuthKeyExchange(fromHex(p.frame), fromHex(p.ed25519PublicKey), { backend });
      expect(verified.senderNode).toBe(p.nodeId);
      expect(toHex(verified.x25519PublicKey)).toBe(p.x25519PublicKey);
      expect(toHex(verified.ed25519PublicKey)).toBe(p.ed25519PublicKey);
    });

    it(`registry signature sig("heartbeat:1") (${backend})`, () => {
      const r = pilot.registrySignature;
      const identity = identityFromSeed(fromHex(r.ed25519Seed), { backend });
      const message = new TextEncoder().encode(r.message);
      expect(toHex(sign(identity, message, { backend }))).toBe(r.signature);
      expect(verify(fromHex(r.signature), message, identity.publicKey, { backend })).toBe(true);
    });
  }

  it('PILS frame: node:crypto alone gives the same bytes', () => {
    const p = pilot.pils;
    const nonce = fromHex(`${p.prefix}0000000000000001`);
    const cipher = nc.createCipheriv('aes-256-gcm', fromHex(p.key), nonce);
    cipher.setAAD(fromHex('00000001'));
    const body = Buffer.concat([cipher.update(fromHex(p.plaintext)), cipher.final(), cipher.getAuthTag()]);
    expect(`50494c5300000001${toHex(nonce)}${toHex(body)}`).toBe(p.frame);
  });
});
