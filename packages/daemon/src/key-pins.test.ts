import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Challenge, createSigner, type DirectorySigner, toBase64 } from '@pilot/directory/client';
import { afterEach, describe, expect, it } from 'vitest';
import { KeyPins, keyFingerprint } from './key-pins.js';
import { createLogger } from './logger.js';
import { TrustStore } from './trust-store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'pilot-pins-'));
  dirs.push(dir);
  const store = new TrustStore(join(dir, 'trust.json'));
  const lines: string[] = [];
  const events: { event: string; data: Record<string, unknown> }[] = [];
  const pins = new KeyPins(
    store,
    createLogger('debug', 'json', (line) => lines.push(line)),
    (event, data) => events.push({ event, data }),
  );
  return { dir, store, pins, lines, events };
}

const proof = (node: number, old: DirectorySigner, newKey: string): string =>
  toBase64(old.sign(new TextEncoder().encode(Challenge.rotationProof(node, newKey))));

describe('KeyPins', () => {
  it('believes the registry for nodes it does not trust, and the pin for those it does', () => {
    const { store, pins, events } = setup();
    const peer = toBase64(createSigner().publicKey);
    const other = toBase64(createSigner().publicKey);
    expect(pins.check(7, { publicKey: other }, 'lookup')).toBe(other);
    store.trust(7, peer, true);
    expect(pins.check(7, { publicKey: peer }, 'lookup')).toBe(peer);
    expect(pins.check(7, { publicKey: other }, 'lookup')).toBe(peer);
    expect(pins.refused).toBe(1);
    expect(events[0]).toMatchObject({
      event: 'security.key_mismatch',
      data: { peer: 7, pinned_fingerprint: keyFingerprint(peer), offered_fingerprint: keyFingerprint(other) },
    });
    // A later trust() with another key does not move the pin either.
    store.trust(7, other, true);
    expect(store.trusted.get(7)?.public_key).toBe(peer);
  });

  it('moves the pin only for a rotation the pinned key signed, naming the new key', () => {
    const { dir, store, pins } = setup();
    const old = createSigner();
    const oldKey = toBase64(old.publicKey);
    const next = toBase64(createSigner().publicKey);
    const thief = createSigner();
    const thiefKey = toBase64(thief.publicKey);
    store.trust(9, oldKey, true);
    // Signed by someone else, or naming another key, or for another node: refused.
    expect(
      pins.check(
        9,
        { publicKey: thiefKey, rotation: { previousKey: oldKey, proof: proof(9, thief, thiefKey) } },
        'lookup',
      ),
    ).toBe(oldKey);
    expect(
      pins.check(
        9,
        { publicKey: thiefKey, rotation: { previousKey: oldKey, proof: proof(9, old, next) } },
        'lookup',
      ),
    ).toBe(oldKey);
    expect(
      pins.check(
        9,
        { publicKey: next, rotation: { previousKey: oldKey, proof: proof(8, old, next) } },
        'lookup',
      ),
    ).toBe(oldKey);
    expect(pins.refused).toBe(3);
    // The real rotation: accepted, and remembered across a restart.
    expect(
      pins.check(
        9,
        { publicKey: next, rotation: { previousKey: oldKey, proof: proof(9, old, next) } },
        'lookup',
      ),
    ).toBe(next);
    expect(new TrustStore(join(dir, 'trust.json')).trusted.get(9)?.public_key).toBe(next);
  });
});
