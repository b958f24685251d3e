// The forward-secret keys of one peer: sessions told apart by key ID, the pending session taken into
// use only once the peer shows it has it, the previous one kept for a grace period and then wiped.
import { deriveSessionKeys, generateX25519KeyPair, type SessionKeys } from '@pilot/crypto';
import { describe, expect, it } from 'vitest';
import { SessionCrypto } from '../src/session-crypto.js';

const A = 1;
const B = 2;
const staticA = generateX25519KeyPair();
const staticB = generateX25519KeyPair();

/** One session's keys as each end derives them. */
function session(): { a: SessionKeys; b: SessionKeys } {
  const ea = generateX25519KeyPair();
  const eb = generateX25519KeyPair();
  return {
    a: deriveSessionKeys({
      ourNode: A,
      peerNode: B,
      ourStatic: staticA,
      peerStatic: staticB.publicKey,
      ourEphemeral: ea,
      peerEphemeral: eb.publicKey,
    }),
    b: deriveSessionKeys({
      ourNode: B,
      peerNode: A,
      ourStatic: staticB,
      peerStatic: staticA.publicKey,
      ourEphemeral: eb,
      peerEphemeral: ea.publicKey,
    }),
  };
}

function ends(budget = {}) {
  const due = { a: 0, b: 0 };
  const a = new SessionCrypto({
    peerX25519: staticB.publicKey,
    ourNode: A,
    peerNode: B,
    budget,
    onRekeyDue: () => due.a++,
  });
  const b = new SessionCrypto({
    peerX25519: staticA.publicKey,
    ourNode: B,
    peerNode: A,
    budget,
    onRekeyDue: () => due.b++,
  });
  return { a, b, due };
}

/** A 34-byte "packet" from `node` (the tunnel checks the source node, not this class). */
const packet = (fill: number) => new Uint8Array(40).fill(fill);

describe('SessionCrypto', () => {
  it('seals with one key per direction; our own frames reflected back do not open', () => {
    const { a, b } = ends();
    expect(a.ready).toBe(false);
    const s = session();
    a.install(s.a, false, 0);
    b.install(s.b, true, 0);
    const frame = a.seal(packet(7));
    const reflected = frame.slice();
    expect(b.open(frame)).toMatchObject({ ok: true });
    expect(a.open(reflected).ok).toBe(false); // a's send key is not its receive key
    expect(b.open(frame).ok).toBe(false); // replay
  });

  it('a pending session is used for sealing only after the peer seals under it (or confirms)', () => {
    const { a, b } = ends();
    const first = session();
    a.install(first.a, true, 0);
    b.install(first.b, true, 0);
    const second = session();
    b.install(second.b, false, 10); // b answered a rekey: pending
    a.install(second.a, true, 10); // a got the answer echoing its key: current
    const fromB = b.seal(packet(1));
    expect(a.open(fromB).ok).toBe(true); // still the first session: a keeps it as previous
    expect(b.hasPending).toBe(true);
    const fromA = a.seal(packet(2));
    expect(b.open(fromA).ok).toBe(true); // under the second session: b promotes it
    expect(b.hasPending).toBe(false);
    expect(a.open(b.seal(packet(3))).ok).toBe(true);
  });

  it('the previous session is wiped after its grace, and frames under it no longer open', () => {
    const { a, b } = ends({ graceMs: 100 });
    const first = session();
    a.install(first.a, true, 0);
    b.install(first.b, true, 0);
    const late = b.seal(packet(1));
    const later = b.seal(packet(2));
    const second = session();
    a.install(second.a, true, 1000);
    b.install(second.b, true, 1000);
    expect(a.open(late).ok).toBe(true); // in flight, within the grace
    a.tick(1200);
    expect(first.a.receiveKey.every((x) => x === 0)).toBe(true);
    expect(first.a.sendKey.every((x) => x === 0)).toBe(true);
    expect(a.open(later).ok).toBe(false);
    expect(second.a.sendKey.some((x) => x !== 0)).toBe(true);
  });

  it('asks for a rekey once per session when its byte or time budget is spent', () => {
    const { a, due } = ends({ bytes: 100, ms: 1000 });
    a.install(session().a, true, 0);
    a.seal(packet(1));
    a.seal(packet(1));
    expect(due.a).toBe(0);
    a.seal(packet(1));
    a.seal(packet(1));
    expect(due.a).toBe(1);
    a.install(session().a, true, 10);
    a.tick(500);
    expect(due.a).toBe(1);
    a.tick(1010);
    a.tick(1020);
    expect(due.a).toBe(2);
  });

  it('wipe zeroes every key; a changed node ID drops the sessions', () => {
    const { a } = ends();
    const s = session();
    a.install(s.a, true, 0);
    a.setOurNode(9);
    expect(a.ready).toBe(false);
    expect(s.a.sendKey.every((x) => x === 0)).toBe(true);
  });
});
