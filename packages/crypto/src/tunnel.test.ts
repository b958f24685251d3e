import { propertyOptions, toHex } from '@pilot/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BACKENDS, codeOf } from '../test/helpers.js';
import { getCryptoBackend } from './select-backend.js';
import { createTunnelOpener } from './tunnel-opener.js';
import { createTunnelSealer, SEALED_FRAME_OVERHEAD } from './tunnel-sealer.js';

const KEY = Uint8Array.from({ length: 32 }, (_, i) => i * 7);
const packet = (n: number): Uint8Array => Uint8Array.from({ length: 34 + n }, (_, i) => (i * 31 + n) & 0xff);

describe.each(BACKENDS)('tunnel sealer and opener (%s)', (backend) => {
  const pair = (sender = 5) => ({
    sealer: createTunnelSealer({ key: KEY, senderNode: sender, backend }),
    opener: createTunnelOpener({ key: KEY, peerNode: sender, backend }),
  });

  it('frames are PILS ‖ sender ‖ prefix ‖ counter ‖ ciphertext ‖ tag, counters from 1', () => {
    const { sealer, opener } = pair(0xa1b2c3d4);
    expect(sealer.nextCounter).toBe(1n);
    const f1 = sealer.seal(packet(10));
    const f2 = sealer.seal(packet(10));
    expect(f1).toHaveLength(34 + 10 + SEALED_FRAME_OVERHEAD);
    expect(toHex(f1.subarray(0, 8))).toBe('50494c53a1b2c3d4');
    expect(toHex(f1.subarray(8, 12))).toBe(toHex(sealer.prefix));
    expect(toHex(f1.subarray(12, 20))).toBe('0000000000000001');
    expect(toHex(f2.subarray(12, 20))).toBe('0000000000000002');
    expect(toHex(opener.open(f2))).toBe(toHex(packet(10)));
    expect(toHex(opener.open(f1))).toBe(toHex(packet(10)));
    expect(opener.maxCounter).toBe(2n);
  });

  it('sealInto writes the same frame at an offset; openInPlace decrypts inside the frame', () => {
    const prefix = Uint8Array.of(1, 2, 3, 4);
    const a = { ...pair(9), sealer: createTunnelSealer({ key: KEY, senderNode: 9, prefix, backend }) };
    const b = { ...pair(9), sealer: createTunnelSealer({ key: KEY, senderNode: 9, prefix, backend }) };
    const out = new Uint8Array(7 + 34 + 40 + SEALED_FRAME_OVERHEAD + 3);
    const length = a.sealer.sealInto(packet(40), out, 7);
    expect(length).toBe(34 + 40 + SEALED_FRAME_OVERHEAD);
    const frame = out.subarray(7, 7 + length);
    expect(toHex(frame)).toBe(toHex(b.sealer.seal(packet(40))));
    const copy = frame.slice();
    const plaintext = a.opener.openInPlace(frame);
    expect(toHex(plaintext)).toBe(toHex(packet(40)));
    expect(plaintext.buffer).toBe(out.buffer);
    expect(plaintext.byteOffset).toBe(7 + 20);
    // A forged frame opened in place changes nothing in the window; the counter seen stays seen.
    expect(toHex(b.opener.openInPlace(copy.slice()))).toBe(toHex(packet(40)));
    const forged = b.sealer.seal(packet(5));
    forged[forged.length - 1]! ^= 1;
    expect(codeOf(() => a.opener.openInPlace(forged))).toBe('CRYPTO_BAD_TAG');
    expect(a.opener.maxCounter).toBe(1n);
    expect(codeOf(() => a.opener.openInPlace(copy))).toBe('CRYPTO_REPLAY');
  });

  it('sealInto refuses a destination too small before using a nonce', () => {
    const { sealer } = pair();
    const need = 34 + SEALED_FRAME_OVERHEAD;
    expect(codeOf(() => sealer.sealInto(packet(0), new Uint8Array(need - 1), 0))).toBe('CRYPTO_BAD_INPUT');
    expect(codeOf(() => sealer.sealInto(packet(0), new Uint8Array(need), 1))).toBe('CRYPTO_BAD_INPUT');
    expect(codeOf(() => sealer.sealInto(packet(0), new Uint8Array(need), -1))).toBe('CRYPTO_BAD_INPUT');
    expect(codeOf(() => sealer.sealInto(packet(0), new Uint8Array(need), 0.5))).toBe('CRYPTO_BAD_INPUT');
    expect(sealer.nextCounter).toBe(1n);
  });

  it('a replayed frame is CRYPTO_REPLAY', () => {
    const { sealer, opener } = pair();
    const f = sealer.seal(packet(1));
    opener.open(f);
    expect(codeOf(() => opener.open(f))).toBe('CRYPTO_REPLAY');
  });

  it('a frame that fails authentication does not mark its counter', () => {
    const { sealer, opener } = pair();
    const good = sealer.seal(packet(3));
    const bad = good.slice();
    bad[bad.length - 1] = bad[bad.length - 1]! ^ 1;
    expect(codeOf(() => opener.open(bad))).toBe('CRYPTO_BAD_TAG');
    expect(opener.maxCounter).toBe(0n);
    expect(toHex(opener.open(good))).toBe(toHex(packet(3)));
  });

  it('a forged frame with a huge counter does not slide the window (unlike mark-then-unmark)', () => {
    const { sealer, opener } = pair();
    const first = sealer.seal(packet(0));
    const second = sealer.seal(packet(0));
    opener.open(second);
    const forged = first.slice();
    forged.set([0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 12);
    expect(codeOf(() => opener.open(forged))).toBe('CRYPTO_BAD_TAG');
    expect(opener.maxCounter).toBe(2n);
    expect(toHex(opener.open(first))).toBe(toHex(packet(0)));
  });

  it('the sender ID is authenticated: changing it fails, and another peer is refused', () => {
    const { sealer, opener } = pair(5);
    const f = sealer.seal(packet(2));
    const relabelled = f.slice();
    relabelled[7] = 6;
    expect(codeOf(() => createTunnelOpener({ key: KEY, peerNode: 6, backend }).open(relabelled))).toBe(
      'CRYPTO_BAD_TAG',
    );
    expect(codeOf(() => opener.open(relabelled))).toBe('CRYPTO_UNEXPECTED_SENDER');
  });

  it('our own frames reflected back are refused (one key serves both directions)', () => {
    const ours = createTunnelSealer({ key: KEY, senderNode: 1, backend });
    const fromPeer = createTunnelOpener({ key: KEY, peerNode: 2, backend });
    expect(codeOf(() => fromPeer.open(ours.seal(packet(4))))).toBe('CRYPTO_UNEXPECTED_SENDER');
  });

  it('another key fails with CRYPTO_BAD_TAG', () => {
    const { sealer } = pair();
    const other = createTunnelOpener({ key: new Uint8Array(32).fill(1), peerNode: 5, backend });
    expect(codeOf(() => other.open(sealer.seal(packet(0))))).toBe('CRYPTO_BAD_TAG');
  });

  it('openFrame reports the counter; empty plaintexts work', () => {
    const sealer = createTunnelSealer({ key: KEY, senderNode: 9, firstCounter: 2n ** 40n, backend });
    const opener = createTunnelOpener({ key: KEY, peerNode: 9, backend });
    const opened = opener.openFrame(sealer.seal(new Uint8Array(0)));
    expect(opened).toMatchObject({ senderNode: 9, counter: 2n ** 40n });
    expect(opened.plaintext).toHaveLength(0);
  });

  it('a sealer and openers can share one AES-GCM instance (no key bytes given), released once', () => {
    const aead = getCryptoBackend(backend).aes256Gcm(KEY);
    const sealer = createTunnelSealer({ aead, senderNode: 9 });
    const opener = createTunnelOpener({ aead, peerNode: 9 });
    const other = createTunnelOpener({ key: KEY, peerNode: 9, backend });
    const f1 = sealer.seal(packet(3));
    expect(toHex(opener.open(f1))).toBe(toHex(packet(3)));
    expect(toHex(other.open(f1))).toBe(toHex(packet(3)));
    // Released (contexts freed): both directions work again on the next frame.
    sealer.release();
    const f2 = sealer.seal(packet(4));
    expect(toHex(opener.open(f2))).toBe(toHex(packet(4)));
    // Interleaved sealers over the shared scratch nonce: each frame carries its own sealer's nonce.
    const second = createTunnelSealer({ aead, senderNode: 9 });
    const a = sealer.seal(packet(1));
    const b = second.seal(packet(2));
    expect(toHex(a.subarray(8, 12))).toBe(toHex(sealer.prefix));
    expect(toHex(b.subarray(8, 12))).toBe(toHex(second.prefix));
    expect(toHex(opener.open(a))).toBe(toHex(packet(1)));
    expect(toHex(createTunnelOpener({ aead, peerNode: 9 }).open(b))).toBe(toHex(packet(2)));
    expect(codeOf(() => createTunnelSealer({ senderNode: 9 }))).toBe('CRYPTO_BAD_KEY');
    expect(codeOf(() => createTunnelOpener({ peerNode: 9 }))).toBe('CRYPTO_BAD_KEY');
  });

  it('the sealer refuses to reuse a counter after 2^64 - 1', () => {
    const sealer = createTunnelSealer({ key: KEY, senderNode: 1, firstCounter: 2n ** 64n - 1n, backend });
    sealer.seal(packet(0));
    expect(sealer.nextCounter).toBeUndefined();
    expect(codeOf(() => sealer.seal(packet(0)))).toBe('CRYPTO_NONCE_EXHAUSTED');
  });

  it('bad options are coded errors', () => {
    expect(codeOf(() => createTunnelSealer({ key: new Uint8Array(16), senderNode: 1, backend }))).toBe(
      'CRYPTO_BAD_KEY',
    );
    expect(codeOf(() => createTunnelSealer({ key: KEY, senderNode: -1, backend }))).toBe(
      'CRYPTO_OUT_OF_RANGE',
    );
    expect(codeOf(() => createTunnelSealer({ key: KEY, senderNode: 2 ** 32, backend }))).toBe(
      'CRYPTO_OUT_OF_RANGE',
    );
    expect(
      codeOf(() => createTunnelSealer({ key: KEY, senderNode: 1, prefix: new Uint8Array(5), backend })),
    ).toBe('CRYPTO_BAD_KEY');
    expect(codeOf(() => createTunnelOpener({ key: new Uint8Array(33), peerNode: 1, backend }))).toBe(
      'CRYPTO_BAD_KEY',
    );
    expect(codeOf(() => createTunnelOpener({ key: KEY, peerNode: 1.5, backend }))).toBe(
      'CRYPTO_OUT_OF_RANGE',
    );
    expect(
      codeOf(() =>
        createTunnelSealer({ key: KEY, senderNode: 1, backend }).seal('x' as unknown as Uint8Array),
      ),
    ).toBe('CRYPTO_BAD_INPUT');
  });

  it('delivers every frame exactly once under reordering and duplication within the window', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.nat(), (count, seed) => {
        const { sealer, opener } = pair();
        const frames = Array.from({ length: count }, (_, i) => sealer.seal(packet(i % 5)));
        // A deterministic shuffle with duplicates.
        const order = [...frames.keys(), ...frames.keys()].map((i) => ({
          i,
          k: (i * 2654435761 + seed) % 1000,
        }));
        order.sort((a, b) => a.k - b.k || a.i - b.i);
        const delivered = new Set<number>();
        for (const { i } of order) {
          try {
            opener.open(frames[i]!);
            expect(delivered.has(i)).toBe(false);
            delivered.add(i);
          } catch (error) {
            expect((error as { code: string }).code).toBe('CRYPTO_REPLAY');
          }
        }
        expect(delivered.size).toBe(count);
      }),
      propertyOptions(backend === 'noble' ? 30 : 100),
    );
  });
});
