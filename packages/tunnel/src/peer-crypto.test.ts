import { ContextBudget, createTunnelSealer, deriveTunnelKey, generateX25519KeyPair } from '@pilot/crypto';
import { describe, expect, it } from 'vitest';
import { PeerCrypto } from './peer-crypto.js';

const ours = generateX25519KeyPair();
const theirs = generateX25519KeyPair();
const key = deriveTunnelKey(theirs.privateKey, ours.publicKey);
const packet = (n: number) => Uint8Array.from({ length: 34 + n }, (_, i) => (i + n) & 0xff);
/** The peer's sealer under a given nonce prefix (a reference peer picks a new one when it re-derives). */
const peerSealer = (prefix: number) =>
  createTunnelSealer({ key, senderNode: 7, prefix: Uint8Array.of(0, 0, 0, prefix) });

describe('PeerCrypto', () => {
  it('opens a second, third… prefix, keeps 4, and refuses frames of an evicted one as replays', () => {
    const budget = new ContextBudget(2);
    const crypto = new PeerCrypto(ours.privateKey, theirs.publicKey, 1, 7, budget);
    const sealers = [1, 2, 3, 4, 5].map(peerSealer);
    const early = sealers[0]!.seal(packet(1)); // held back: opened after prefix 1 is evicted
    for (const [i, sealer] of sealers.slice(0, 4).entries()) {
      const outcome = crypto.open(sealer.seal(packet(i)));
      expect(outcome.ok).toBe(true);
    }
    // All four prefixes open again (the budget of 2 rebuilds contexts as needed).
    for (const sealer of sealers.slice(0, 4)) expect(crypto.open(sealer.seal(packet(9))).ok).toBe(true);
    expect(budget.live).toBeLessThanOrEqual(2);
    // A fifth prefix evicts the oldest (1): its frames are replays from now on.
    expect(crypto.open(sealers[4]!.seal(packet(5))).ok).toBe(true);
    expect(crypto.open(early)).toEqual({ ok: false, reason: 'replay' });
    expect(crypto.open(sealers[0]!.seal(packet(2)))).toEqual({ ok: false, reason: 'replay' });
    // A frame under a wrong key fails without adopting its prefix.
    const stranger = createTunnelSealer({ key: new Uint8Array(32).fill(3), senderNode: 7 });
    expect(crypto.open(stranger.seal(packet(3)))).toEqual({ ok: false, reason: 'bad_tag' });
    // Our frames open at the peer after release() (contexts rebuilt).
    crypto.release();
    const frame = crypto.seal(packet(4));
    expect(frame.length).toBeGreaterThan(packet(4).length);
    // The peer's key reads back as given (kept as a string, not an array per tunnel).
    expect([...crypto.peerX25519]).toEqual([...theirs.publicKey]);
  });
});
