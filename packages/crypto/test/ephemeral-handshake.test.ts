// The forward-secret handshake's state machine, driven as data: two ends exchanging PILX fields in
// every order that matters (one after the other, crossing, lost, replayed, rekeys from either side).
import { toHex } from '@pilot/testkit';
import { describe, expect, it } from 'vitest';
import {
  type EphemeralHandshake,
  ensureOurEphemeral,
  generateX25519KeyPair,
  markPaired,
  newEphemeralHandshake,
  type PeerEphemeral,
  receiveEphemeral,
  startRekey,
} from '../src/index.js';

/** One end: its handshake state, the sessions it derived (as "ours|peer" public-key pairs), its clock. */
class End {
  state: EphemeralHandshake = newEphemeralHandshake();
  sessions: string[] = [];
  confirmed = 0;
  clock = 0n;
  wiped: Uint8Array[] = [];
  constructor(readonly name: string) {}

  /** The PILX fields this end would send now. */
  send(): PeerEphemeral {
    this.state = ensureOurEphemeral(this.state, generateX25519KeyPair);
    this.clock += 1n;
    return { ephemeral: this.state.ours?.publicKey, echo: this.state.peer, timestamp: this.clock };
  }

  /** Receives `message`; returns whether it answers. */
  receive(message: PeerEphemeral): boolean {
    const step = receiveEphemeral(this.state, message, generateX25519KeyPair);
    this.state = step.state;
    if (step.derive !== undefined) {
      this.wiped.push(step.derive.ours.privateKey);
      this.sessions.push(`${toHex(step.derive.ours.publicKey)}|${toHex(step.derive.peer)}`);
      this.state = markPaired(this.state, step.derive.peer);
    }
    if (step.confirmed) this.confirmed++;
    return step.reply;
  }

  rekey(): void {
    this.state = startRekey(this.state, generateX25519KeyPair);
  }

  current(): string | undefined {
    return this.sessions.at(-1);
  }
}

/** The session both ends must agree on, as seen from `a` ("a's key|b's key"). */
const mirrored = (s: string | undefined): string | undefined => s?.split('|').reverse().join('|');

/** Delivers until quiet (every reply sent at once); returns the messages exchanged. */
function settle(a: End, b: End, first: PeerEphemeral, to: End): number {
  const queue: [End, PeerEphemeral][] = [[to, first]];
  let messages = 1;
  while (queue.length > 0) {
    const [receiver, message] = queue.shift() as [End, PeerEphemeral];
    if (receiver.receive(message)) {
      messages++;
      const other = receiver === a ? b : a;
      queue.push([other, receiver.send()]);
      if (messages > 20) throw new Error('no convergence');
    }
  }
  return messages;
}

function agree(a: End, b: End): void {
  expect(a.current()).toBeDefined();
  expect(mirrored(a.current())).toBe(b.current());
  // No private ephemeral key survives a derivation.
  for (const end of [a, b]) {
    for (const key of end.wiped) expect(key.every((byte) => byte === 0)).toBe(true);
    expect(end.state.ours?.privateKey).toBeUndefined();
  }
}

describe('ephemeral handshake', () => {
  it('one side starts: 1 RTT (two messages), both derive the same session', () => {
    const a = new End('a');
    const b = new End('b');
    expect(settle(a, b, a.send(), b)).toBe(2);
    agree(a, b);
    expect(a.confirmed).toBe(1);
  });

  it('crossing first messages converge on one session', () => {
    const a = new End('a');
    const b = new End('b');
    const fromA = a.send();
    const fromB = b.send();
    const aReplies = a.receive(fromB);
    const bReplies = b.receive(fromA);
    expect(aReplies && bReplies).toBe(true);
    expect(a.receive(b.send())).toBe(false);
    expect(b.receive(a.send())).toBe(false);
    agree(a, b);
    expect(a.sessions.length).toBe(1);
  });

  it('a rekey from either side renews both ephemeral keys', () => {
    const a = new End('a');
    const b = new End('b');
    settle(a, b, a.send(), b);
    const first = a.current() ?? '';
    b.rekey();
    expect(settle(a, b, b.send(), a)).toBe(2);
    agree(a, b);
    const second = a.current() ?? '';
    const [a1, b1] = first.split('|');
    const [a2, b2] = second.split('|');
    expect(a2).not.toBe(a1);
    expect(b2).not.toBe(b1);
    a.rekey();
    settle(a, b, a.send(), b);
    agree(a, b);
    expect(new Set(a.sessions).size).toBe(3);
  });

  it('crossing rekeys converge', () => {
    const a = new End('a');
    const b = new End('b');
    settle(a, b, a.send(), b);
    a.rekey();
    b.rekey();
    const fromA = a.send();
    const fromB = b.send();
    const replies = [a.receive(fromB), b.receive(fromA)];
    expect(replies).toEqual([true, true]);
    expect(a.receive(b.send())).toBe(false);
    expect(b.receive(a.send())).toBe(false);
    agree(a, b);
  });

  it('a lost answer is recovered by the next retransmission', () => {
    const a = new End('a');
    const b = new End('b');
    const first = a.send();
    expect(b.receive(first)).toBe(true);
    b.send(); // lost
    expect(b.receive(a.send())).toBe(true); // a's retransmission: same key, b answers again
    expect(a.receive(b.send())).toBe(false);
    agree(a, b);
    expect(b.sessions.length).toBe(1);
  });

  it('a replayed (older) PILX changes nothing', () => {
    const a = new End('a');
    const b = new End('b');
    const old = a.send();
    settle(a, b, old, b);
    const before = JSON.stringify(b.sessions);
    const step = receiveEphemeral(b.state, old, generateX25519KeyPair);
    expect(step.stale).toBe(true);
    expect(step.derive).toBeUndefined();
    expect(JSON.stringify(b.sessions)).toBe(before);
  });

  it('a PILX without an ephemeral key (no forward secrecy offered) derives nothing', () => {
    const b = new End('b');
    const step = receiveEphemeral(
      b.state,
      { ephemeral: undefined, echo: undefined, timestamp: 5n },
      generateX25519KeyPair,
    );
    expect(step.derive).toBeUndefined();
    expect(step.reply).toBe(false);
    expect(step.state.peerTimestamp).toBe(5n);
  });
});
