import { hostileVariants, propertyOptions } from '@pilot/testkit';
import { AUTH_KEY_EXCHANGE_SIZE } from '@pilot/wire';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  appendPilaExtension,
  createAuthKeyExchange,
  generateIdentity,
  generateX25519KeyPair,
  verifyAuthKeyExchange,
  verifyPilaExtension,
} from '../src/index.js';
import { codeOf, cryptoOutcome } from './helpers.js';

const identity = generateIdentity();
const other = generateIdentity();
const pila = createAuthKeyExchange(identity, 7, generateX25519KeyPair().publicKey);
const ephemeral = generateX25519KeyPair().publicKey;
const fields = { capabilities: 1, timestamp: 1234n, ephemeral, echo: undefined };

describe('PILX signing', () => {
  it('round-trips, and the PILA in front still verifies as the spec frame', () => {
    const frame = appendPilaExtension(identity, pila, fields);
    expect(frame.length).toBe(284);
    expect(verifyAuthKeyExchange(frame, identity.publicKey).senderNode).toBe(7);
    const ext = verifyPilaExtension(frame, identity.publicKey);
    expect(ext?.capabilityNames).toEqual(['forward-secrecy']);
    expect(ext?.timestamp).toBe(1234n);
    expect(ext?.ephemeral).toEqual(ephemeral);
    expect(ext?.echo).toBeUndefined();
  });

  it('a reference PILA has none', () => {
    expect(verifyPilaExtension(pila, identity.publicKey)).toBeUndefined();
  });

  it('altered capability bits, another signer, or moving it onto another PILA: CRYPTO_BAD_SIGNATURE', () => {
    const frame = appendPilaExtension(identity, pila, fields);
    const altered = frame.slice();
    altered[AUTH_KEY_EXCHANGE_SIZE + 11] = (altered[AUTH_KEY_EXCHANGE_SIZE + 11] ?? 0) ^ 2; // add large-datagrams
    expect(codeOf(() => verifyPilaExtension(altered, identity.publicKey))).toBe('CRYPTO_BAD_SIGNATURE');
    expect(codeOf(() => verifyPilaExtension(frame, other.publicKey))).toBe('CRYPTO_BAD_SIGNATURE');
    const otherPila = createAuthKeyExchange(identity, 7, generateX25519KeyPair().publicKey);
    const moved = frame.slice();
    moved.set(otherPila, 0);
    expect(codeOf(() => verifyPilaExtension(moved, identity.publicKey))).toBe('CRYPTO_BAD_SIGNATURE');
  });

  it('malformed is CRYPTO_BAD_FRAME; bad fields are CRYPTO_BAD_INPUT', () => {
    const frame = appendPilaExtension(identity, pila, fields);
    expect(codeOf(() => verifyPilaExtension(frame.subarray(0, frame.length - 1), identity.publicKey))).toBe(
      'CRYPTO_BAD_FRAME',
    );
    expect(codeOf(() => appendPilaExtension(identity, pila, { ...fields, timestamp: -1n }))).toBe(
      'CRYPTO_BAD_INPUT',
    );
    expect(codeOf(() => appendPilaExtension(identity, pila.subarray(0, 100), fields))).toBe(
      'CRYPTO_BAD_FRAME',
    );
  });

  it('hostile variants and random tails give a value or a CRYPTO_ error, and never verify when altered', () => {
    const frame = appendPilaExtension(identity, pila, fields);
    for (const { bytes } of hostileVariants(frame))
      cryptoOutcome(() => verifyPilaExtension(bytes, identity.publicKey));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (tail) => {
        const bytes = new Uint8Array(pila.length + tail.length);
        bytes.set(pila);
        bytes.set(tail, pila.length);
        const outcome = cryptoOutcome(() => verifyPilaExtension(bytes, identity.publicKey));
        expect(['ok', 'CRYPTO_BAD_FRAME', 'CRYPTO_BAD_SIGNATURE']).toContain(outcome);
      }),
      propertyOptions(300),
    );
  });
});
