// Hostile inputs: every public entry point either returns or throws a PilotError with a CRYPTO_
// code. Nothing else may escape (no TypeError, no OpenSSL error, no noble Error).
import { hostileBasics, hostileVariants, propertyOptions } from '@pilot/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createAuthKeyExchange,
  createTunnelOpener,
  createTunnelSealer,
  decodeIdentityFile,
  deriveTunnelKey,
  encodeIdentityFile,
  identityFromSeed,
  sign,
  verify,
  verifyAuthKeyExchange,
  x25519PublicKey,
} from '../src/index.js';
import { BACKENDS, cryptoOutcome } from './helpers.js';

const KEY = new Uint8Array(32).fill(0x42);
const junkValues: unknown[] = [
  undefined,
  null,
  0,
  -1,
  Number.NaN,
  'text',
  {},
  [],
  [1, 2, 3],
  new Uint8Array(0),
  new Uint8Array(1),
  new Uint8Array(31),
  new Uint8Array(33),
  new Uint8Array(64),
  new Uint16Array(16),
  new ArrayBuffer(32),
];

describe.each(BACKENDS)('hostile inputs (%s)', (backend) => {
  it('PILS frames: every truncation, bit flip and mutation is refused with a code', () => {
    const sealer = createTunnelSealer({ key: KEY, senderNode: 77, backend });
    const valid = sealer.seal(Uint8Array.from({ length: 40 }, (_, i) => i));
    const seen = new Set<string>();
    for (const variant of [...hostileVariants(valid), ...hostileBasics()]) {
      const opener = createTunnelOpener({ key: KEY, peerNode: 77, backend });
      const outcome = cryptoOutcome(() => opener.open(variant.bytes));
      expect(outcome, variant.name).not.toBe('ok');
      seen.add(outcome);
    }
    expect([...seen].sort()).toEqual([
      'CRYPTO_BAD_FRAME',
      'CRYPTO_BAD_TAG',
      'CRYPTO_REPLAY',
      'CRYPTO_UNEXPECTED_SENDER',
    ]);
  });

  it('PILS frames: random bytes after a valid header never open', () => {
    const opener = createTunnelOpener({ key: KEY, peerNode: 1, backend });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (tail) => {
        const frame = Uint8Array.from([0x50, 0x49, 0x4c, 0x53, 0, 0, 0, 1, ...tail]);
        expect(cryptoOutcome(() => opener.open(frame))).not.toBe('ok');
      }),
      propertyOptions(backend === 'noble' ? 200 : 1000),
    );
  });

  it('PILA frames: only the frame itself (and trailing bytes) verify', () => {
    const identity = identityFromSeed(new Uint8Array(32).fill(1), { backend });
    const valid = createAuthKeyExchange(
      identity,
      3,
      x25519PublicKey(new Uint8Array(32).fill(2), { backend }),
      { backend },
    );
    for (const variant of [...hostileVariants(valid), ...hostileBasics()]) {
      // noble verifies at ~2 ms: one pass suffices there, the node backend takes both.
      for (const expected of backend === 'node' ? [identity.publicKey, undefined] : [identity.publicKey]) {
        const outcome = cryptoOutcome(() => verifyAuthKeyExchange(variant.bytes, expected, { backend }));
        if (variant.name === 'trailing garbage') expect(outcome).toBe('ok');
        else expect(outcome, variant.name).not.toBe('ok');
      }
    }
  });

  it('junk in every argument position gives a coded error (or false from verify)', () => {
    const identity = identityFromSeed(new Uint8Array(32).fill(1), { backend });
    const sig = sign(identity, new TextEncoder().encode('signed'), { backend });
    for (const junk of junkValues) {
      const j = junk as Uint8Array;
      cryptoOutcome(() => identityFromSeed(j, { backend }));
      cryptoOutcome(() => sign(identity, j, { backend }));
      cryptoOutcome(() => sign(junk as never, new Uint8Array(1), { backend }));
      cryptoOutcome(() => sign({ seed: j, publicKey: j }, new Uint8Array(1), { backend }));
      expect(verify(j, new Uint8Array(1), identity.publicKey, { backend })).toBe(false);
      expect(verify(sig, j, identity.publicKey, { backend })).toBe(false);
      expect(verify(sig, new Uint8Array(1), j, { backend })).toBe(false);
      cryptoOutcome(() => deriveTunnelKey(j, KEY, { backend }));
      cryptoOutcome(() => deriveTunnelKey(KEY, j, { backend }));
      cryptoOutcome(() => x25519PublicKey(j, { backend }));
      cryptoOutcome(() => createTunnelSealer({ key: j, senderNode: 1, backend }));
      cryptoOutcome(() => createTunnelSealer({ key: KEY, senderNode: junk as number, backend }));
      cryptoOutcome(() => createTunnelSealer({ key: KEY, senderNode: 1, prefix: j, backend }));
      cryptoOutcome(() => createTunnelSealer({ key: KEY, senderNode: 1, backend }).seal(j));
      cryptoOutcome(() => createTunnelOpener({ key: j, peerNode: 1, backend }));
      cryptoOutcome(() => createTunnelOpener({ key: KEY, peerNode: 1, backend }).open(j));
      cryptoOutcome(() => createAuthKeyExchange(identity, junk as number, KEY, { backend }));
      cryptoOutcome(() => createAuthKeyExchange(identity, 1, j, { backend }));
      cryptoOutcome(() => createAuthKeyExchange(junk as never, 1, KEY, { backend }));
      cryptoOutcome(() => verifyAuthKeyExchange(j, undefined, { backend }));
      cryptoOutcome(() => verifyAuthKeyExchange(new Uint8Array(136), j, { backend }));
      cryptoOutcome(() => decodeIdentityFile(junk as string, { backend }));
      cryptoOutcome(() => encodeIdentityFile(junk as never));
    }
  });

  it('identity files: mutated valid files and random text', () => {
    const file = encodeIdentityFile(identityFromSeed(new Uint8Array(32).fill(5), { backend }));
    const bytes = new TextEncoder().encode(file);
    const decoder = new TextDecoder();
    for (const variant of hostileVariants(bytes)) {
      cryptoOutcome(() => decodeIdentityFile(decoder.decode(variant.bytes), { backend }));
    }
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        expect(cryptoOutcome(() => decodeIdentityFile(text, { backend }))).toBe('CRYPTO_BAD_IDENTITY');
      }),
      propertyOptions(300),
    );
  });
});
