// The optional AES-256-GCM addon: built wherever the build script says it can be, identical to
// node:crypto byte for byte, refusing what node:crypto refuses, and never crashing the process on
// a misuse of its raw exports.
import { execFileSync } from 'node:child_process';
import { propertyOptions, toHex } from '@pilot/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findNativeAead } from '../src/_native-aead.js';
import { availableBackends, createTunnelOpener, createTunnelSealer, getCryptoBackend } from '../src/index.js';

const script = new URL('../scripts/build-native.mjs', import.meta.url);
const plan = JSON.parse(
  execFileSync(process.execPath, [script.pathname, '--check'], { encoding: 'utf8' }),
) as {
  ok: boolean;
  reason?: string;
};
const built = availableBackends().includes('native');

describe('native AES-GCM addon', () => {
  it('is built and preferred wherever the build can make it', () => {
    // A machine with a C compiler and Node's headers (CI's) must run the fast path; elsewhere the
    // package falls back without it and says why at build time.
    expect({ plan: plan.ok, built }).toEqual({ plan: plan.ok, built: plan.ok });
    if (built) expect(availableBackends()[0]).toBe('native');
    else expect(() => getCryptoBackend('native')).toThrow(/native/);
  });

  it('is not found in a scope without process.getBuiltinModule, or when loading throws', () => {
    expect(findNativeAead({})).toBeUndefined();
    expect(findNativeAead({ process: { getBuiltinModule: () => undefined } })).toBeUndefined();
    expect(
      findNativeAead({
        process: {
          getBuiltinModule: () => {
            throw new Error('no');
          },
        },
      }),
    ).toBeUndefined();
  });

  describe.runIf(built)('against node:crypto', () => {
    const node = getCryptoBackend('node');
    const native = built ? getCryptoBackend('native') : node;
    const key32 = fc.uint8Array({ minLength: 32, maxLength: 32 });

    it('seals byte for byte the same, and each opens the other (nonces of 8 to 60 bytes)', () => {
      fc.assert(
        fc.property(
          key32,
          fc.uint8Array({ minLength: 8, maxLength: 60 }),
          fc.uint8Array({ maxLength: 64 }),
          fc.uint8Array({ maxLength: 3000 }),
          fc.nat(32),
          (key, nonce, aad, plaintext, offset) => {
            const a = new Uint8Array(offset + plaintext.length + 16);
            const b = new Uint8Array(plaintext.length + 16);
            native.aes256Gcm(key).sealInto(nonce, aad, plaintext, a, offset);
            node.aes256Gcm(key).sealInto(nonce, aad, plaintext, b, 0);
            expect(toHex(a.subarray(offset))).toBe(toHex(b));
            expect(toHex(native.aes256Gcm(key).open(nonce, aad, b)!)).toBe(toHex(plaintext));
            expect(toHex(node.aes256Gcm(key).open(nonce, aad, a.subarray(offset))!)).toBe(toHex(plaintext));
          },
        ),
        propertyOptions(300),
      );
    });

    it('keeps no state between calls: one key, many nonces and lengths, in any order', () => {
      const key = new Uint8Array(32).fill(3);
      const aead = native.aes256Gcm(key);
      const reference = node.aes256Gcm(key);
      for (let i = 0; i < 200; i++) {
        const nonce = new Uint8Array(i % 3 === 0 ? 8 : 12).fill(i);
        const plaintext = new Uint8Array((i * 37) % 1500).fill(i);
        const sealed = new Uint8Array(plaintext.length + 16);
        aead.sealInto(nonce, Uint8Array.of(i), plaintext, sealed, 0);
        const expected = new Uint8Array(plaintext.length + 16);
        reference.sealInto(nonce, Uint8Array.of(i), plaintext, expected, 0);
        expect(toHex(sealed)).toBe(toHex(expected));
        // A failed open in between must not poison the next one.
        expect(aead.open(nonce, Uint8Array.of(i + 1), sealed)).toBeUndefined();
        expect(toHex(aead.open(nonce, Uint8Array.of(i), sealed)!)).toBe(toHex(plaintext));
      }
    });

    it('refuses every single-bit flip, a short frame and a wrong AAD', () => {
      const key = new Uint8Array(32).fill(1);
      const aead = native.aes256Gcm(key);
      const nonce = new Uint8Array(12).fill(2);
      const sealed = new Uint8Array(48 + 16);
      aead.sealInto(nonce, Uint8Array.of(9), new Uint8Array(48).fill(5), sealed, 0);
      for (let i = 0; i < sealed.length * 8; i++) {
        const bad = sealed.slice();
        bad[i >> 3] = bad[i >> 3]! ^ (1 << (i & 7));
        expect(aead.open(nonce, Uint8Array.of(9), bad)).toBeUndefined();
      }
      expect(aead.open(nonce, Uint8Array.of(9), sealed.subarray(0, 15))).toBeUndefined();
      expect(aead.open(nonce, Uint8Array.of(8), sealed)).toBeUndefined();
    });

    it('PILS frames from one backend open under the other', () => {
      const key = new Uint8Array(32).fill(4);
      const prefix = Uint8Array.of(1, 2, 3, 4);
      const a = createTunnelSealer({ key, senderNode: 7, prefix, backend: 'native' });
      const b = createTunnelSealer({ key, senderNode: 7, prefix, backend: 'node' });
      const opener = createTunnelOpener({ key, peerNode: 7, backend: 'native' });
      for (let i = 0; i < 50; i++) {
        const packet = new Uint8Array(34 + i * 20).fill(i);
        const frame = a.seal(packet);
        expect(toHex(frame)).toBe(toHex(b.seal(packet)));
        expect(toHex(opener.open(frame))).toBe(toHex(packet));
      }
    });

    it('raw exports misused throw instead of crashing', () => {
      const addon = findNativeAead()!;
      const handle = addon.key(new Uint8Array(32));
      const twelve = new Uint8Array(12);
      const bad: Array<() => unknown> = [
        () => addon.key(new Uint8Array(31)),
        () => addon.key('key' as unknown as Uint8Array),
        () => addon.seal({}, twelve, twelve, twelve, new Uint8Array(28), 0),
        () => addon.seal(handle, twelve, twelve, twelve, new Uint8Array(27), 0),
        () => addon.seal(handle, twelve, twelve, twelve, new Uint8Array(28), 1),
        () => addon.seal(handle, new Uint8Array(0), twelve, twelve, new Uint8Array(28), 0),
        () =>
          addon.seal(
            handle,
            twelve,
            twelve,
            new Uint16Array(6) as unknown as Uint8Array,
            new Uint8Array(28),
            0,
          ),
        () => addon.open(handle, twelve, twelve, new Uint8Array(15), new Uint8Array(0), 0),
        () => addon.open(handle, twelve, twelve, new Uint8Array(40), new Uint8Array(23), 0),
        () => addon.open(handle, twelve, twelve, new Uint8Array(40), new Uint8Array(24), 1),
        () => addon.open(handle, twelve, twelve, new Uint8Array(40), new Uint8Array(24), -1),
      ];
      for (const call of bad) expect(call).toThrow();
    });
  });
});
