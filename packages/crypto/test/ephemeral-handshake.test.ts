// The forward-secret handshake's state machine, driven as data: two ends exchanging PILX fields in
// every order that matters (one after the other, crossing, lost, replayed, rekeys from either side).
import { propertyOptions, toHex } from '@pilot/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  confirmPairing,
  type EphemeralHandshake,
  ensureOurEphemeral,
  generateX25519KeyPair,
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
  constructor(readonly name: string) {}

  /** The PILX fields this end would send now. */
  send(): PeerEphemeral {
    this.state = ensureOurEphemeral(this.state, generateX25519KeyPair);
    this.clock += 1n;
    return { ephemeral: this.state.ours?.publicKey, echo: this.state.pairedWith, timestamp: this.clock };
  }

  /** Receives `message`; returns whether it answers. */
  receive(message: PeerEphemeral): boolean {
    const step = receiveEphemeral(this.state, message, generateX25519KeyPair);
    this.state = step.state;
    if (step.derive !== undefined) {
      this.sessions.push(`${toHex(step.derive.ours.publicKey)}|${toHex(step.derive.peer)}`);
      step.derive.ours.privateKey.fill(0); // what the tunnel does after deriving
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
  // The first sealed frame each way confirms what a PILX echo has not; then no private key is left.
  for (const end of [a, b]) {
    end.state = confirmPairing(end.state);
    expect(end.state.confirmed).toBe(true);
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

  it('a late PILX with a key its sender has since replaced does not start endless rekeying', () => {
    const a = new End('a');
    const b = new End('b');
    settle(a, b, a.send(), b);
    const late = b.send(); // in flight while a forgets b (or restarts its state)
    const a2 = new End('a2');
    a2.clock = a.clock;
    const fresh = a2.send();
    const replies: [End, PeerEphemeral][] = [];
    if (a2.receive(late)) replies.push([b, a2.send()]);
    if (b.receive(fresh)) replies.push([a2, b.send()]);
    for (const [to, message] of replies) settle(a2, b, message, to);
    agree(a2, b);
  });

  it('any order, loss, duplication and rekeys converge once messages flow again', () => {
    type Op = { kind: 'send' | 'deliver' | 'drop' | 'rekey'; side: 0 | 1; pick: number };
    const op = fc.record({
      kind: fc.constantFrom<Op['kind']>('send', 'send', 'deliver', 'deliver', 'deliver', 'drop', 'rekey'),
      side: fc.constantFrom<0 | 1>(0, 1),
      pick: fc.nat(20),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const ends = [new End('a'), new End('b')] as const;
        const queues: PeerEphemeral[][] = [[], []]; // queues[i]: messages travelling to ends[i]
        const deliver = (to: 0 | 1, message: PeerEphemeral) => {
          if (ends[to].receive(message)) queues[1 - to]?.push(ends[to].send());
        };
        for (const { kind, side, pick } of ops) {
          const queue = queues[side] as PeerEphemeral[];
          if (kind === 'send') queues[1 - side]?.push(ends[side].send());
          else if (kind === 'rekey') ends[side].rekey();
          else if (queue.length > 0) {
            const [message] = queue.splice(pick % queue.length, 1) as [PeerEphemeral];
            if (kind === 'deliver') deliver(side, message);
          }
        }
        // The network heals: each side sends (as the tunnel's retransmissions do), all is delivered.
        queues[1]?.push(ends[0].send());
        queues[0]?.push(ends[1].send());
        for (let round = 0; round < 20 && (queues[0]?.length || queues[1]?.length); round++) {
          for (const to of [0, 1] as const) {
            for (const message of (queues[to] as PeerEphemeral[]).splice(0)) deliver(to, message);
          }
        }
        expect((queues[0]?.length ?? 0) + (queues[1]?.length ?? 0)).toBe(0);
        agree(ends[0], ends[1]);
      }),
      propertyOptions(300),
    );
  });
});
