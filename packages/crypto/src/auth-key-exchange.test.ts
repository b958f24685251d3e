import { fromHex, toHex } from '@pilot/testkit';
import { describe, expect, it } from 'vitest';
import { BACKENDS, codeOf } from '../test/helpers.js';
import { createAuthKeyExchange, verifyAuthKeyExchange } from './auth-key-exchange.js';
import { identityFromSeed } from './identity.js';
import { deriveTunnelKey, generateX25519KeyPair } from './key-agreement.js';

const ALICE_X = fromHex('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');

describe.each(BACKENDS)('PILA (%s)', (backend) => {
  const id = identityFromSeed(
    Uint8Array.from({ length: 32 }, (_, i) => i + 1),
    { backend },
  );
  const other = identityFromSeed(new Uint8Array(32).fill(9), { backend });

  it('round-trips with and without the expected key; the result is copied out of the frame', () => {
    const frame = createAuthKeyExchange(id, 0xdeadbeef, ALICE_X, { backend });
    expect(frame).toHaveLength(136);
    const v = verifyAuthKeyExchange(frame, id.publicKey, { backend });
    expect(v.senderNode).toBe(0xdeadbeef);
    frame.fill(0);
    expect(toHex(v.x25519PublicKey)).toBe(toHex(ALICE_X));
    expect(toHex(v.ed25519PublicKey)).toBe(toHex(id.publicKey));
    const again = createAuthKeyExchange(id, 7, ALICE_X, { backend });
    expect(verifyAuthKeyExchange(again, undefined, { backend }).senderNode).toBe(7);
  });

  it('a key other than the registered one is CRYPTO_KEY_MISMATCH', () => {
    const frame = createAuthKeyExchange(other, 1, ALICE_X, { backend });
    expect(codeOf(() => verifyAuthKeyExchange(frame, id.publicKey, { backend }))).toBe('CRYPTO_KEY_MISMATCH');
  });

  it('a changed node ID, X25519 key or signature is CRYPTO_BAD_SIGNATURE', () => {
    const frame = createAuthKeyExchange(id, 1, ALICE_X, { backend });
    for (const at of [7, 8, 39, 72, 135]) {
      const bad = frame.slice();
      bad[at] = bad[at]! ^ 1;
      expect(
        codeOf(() => verifyAuthKeyExchange(bad, id.publicKey, { backend })),
        `byte ${at}`,
      ).toBe('CRYPTO_BAD_SIGNATURE');
    }
  });

  it('a swapped-in Ed25519 key without the expected key fails the signature', () => {
    const frame = createAuthKeyExchange(id, 1, ALICE_X, { backend });
    frame.set(other.publicKey, 40);
    expect(codeOf(() => verifyAuthKeyExchange(frame, undefined, { backend }))).toBe('CRYPTO_BAD_SIGNATURE');
  });

  it('not a PILA frame is CRYPTO_BAD_FRAME; bytes after the 136th are ignored as the reference does', () => {
    const frame = createAuthKeyExchange(id, 1, ALICE_X, { backend });
    expect(codeOf(() => verifyAuthKeyExchange(frame.subarray(0, 135), id.publicKey, { backend }))).toBe(
      'CRYPTO_BAD_FRAME',
    );
    const pilk = frame.slice(0, 40);
    pilk[3] = 0x4b;
    expect(codeOf(() => verifyAuthKeyExchange(pilk, undefined, { backend }))).toBe('CRYPTO_BAD_FRAME');
    expect(codeOf(() => verifyAuthKeyExchange(Uint8Array.of(1, 2, 3, 4, 5), undefined, { backend }))).toBe(
      'CRYPTO_BAD_FRAME',
    );
    expect(codeOf(() => verifyAuthKeyExchange('PILA' as unknown as Uint8Array, undefined, { backend }))).toBe(
      'CRYPTO_BAD_FRAME',
    );
    const longer = new Uint8Array(140);
    longer.set(frame);
    expect(verifyAuthKeyExchange(longer, id.publicKey, { backend }).senderNode).toBe(1);
  });

  it('bad arguments are coded errors', () => {
    expect(codeOf(() => createAuthKeyExchange(id, -1, ALICE_X, { backend }))).toBe('CRYPTO_OUT_OF_RANGE');
    expect(codeOf(() => createAuthKeyExchange(id, 1, new Uint8Array(31), { backend }))).toBe(
      'CRYPTO_BAD_KEY',
    );
    const frame = createAuthKeyExchange(id, 1, ALICE_X, { backend });
    expect(codeOf(() => verifyAuthKeyExchange(frame, new Uint8Array(31), { backend }))).toBe(
      'CRYPTO_BAD_KEY',
    );
  });

  it('two nodes: exchange PILA frames, derive one key', () => {
    const a = { id, x: generateX25519KeyPair({ backend }) };
    const b = { id: other, x: generateX25519KeyPair({ backend }) };
    const fromA = verifyAuthKeyExchange(
      createAuthKeyExchange(a.id, 10, a.x.publicKey, { backend }),
      a.id.publicKey,
      { backend },
    );
    const fromB = verifyAuthKeyExchange(
      createAuthKeyExchange(b.id, 20, b.x.publicKey, { backend }),
      b.id.publicKey,
      { backend },
    );
    expect(toHex(deriveTunnelKey(a.x.privateKey, fromB.x25519PublicKey, { backend }))).toBe(
      toHex(deriveTunnelKey(b.x.privateKey, fromA.x25519PublicKey, { backend })),
    );
  });
});
