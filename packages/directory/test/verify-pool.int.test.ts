import { afterEach, describe, expect, it } from 'vitest';
import { Challenge, createSigner, DirErrorCode, signChallenge, toBase64 } from '../src/index.js';
import { RawPeer, type RunningServer, runServer } from './tcp-helpers.js';

let running: RunningServer | undefined;
const peers: RawPeer[] = [];

afterEach(async () => {
  for (const peer of peers.splice(0)) peer.close();
  await running?.close();
  running = undefined;
});

function registration(): Record<string, unknown> {
  const signer = createSigner();
  const key = toBase64(signer.publicKey);
  return {
    type: 'register',
    public_key: key,
    listen_addr: ':4000',
    ...signChallenge(signer, Challenge.register(key)),
  };
}

describe('registrations checked by the verification worker', () => {
  it('accepts good signatures, refuses forged and replayed ones, and keeps pipelined replies in order', async () => {
    running = await runServer({ verifyWorkers: 1 });
    const peer = await RawPeer.open(running.server.port);
    peers.push(peer);
    const good = registration();
    const other = registration();
    // Someone else's valid signature on this key's request: the worker says no, the handler refuses.
    const forged = {
      ...registration(),
      signature: other.signature,
      timestamp: other.timestamp,
      nonce: other.nonce,
    };
    // Pipelined: a signed request, a read behind it, a forgery, the same request again, a read.
    peer.sendJson(good);
    peer.sendJson({ type: 'lookup', node_id: 1 });
    peer.sendJson(forged);
    peer.sendJson(good);
    peer.sendJson({ type: 'lookup', node_id: 1 });
    const replies = [
      await peer.reply(),
      await peer.reply(),
      await peer.reply(),
      await peer.reply(),
      await peer.reply(),
    ];
    expect(replies[0]).toMatchObject({ type: 'register_ok', node_id: 1 });
    expect(replies[1]).toMatchObject({ type: 'lookup_ok', node_id: 1 });
    expect(replies[2]).toMatchObject({ type: 'error', code: DirErrorCode.BAD_SIGNATURE });
    expect(replies[3]).toMatchObject({ type: 'error', code: DirErrorCode.REPLAYED });
    expect(replies[4]).toMatchObject({ type: 'lookup_ok', node_id: 1 });
  });

  it('answers requests already received when it closes', async () => {
    running = await runServer({ verifyWorkers: 1 });
    const peer = await RawPeer.open(running.server.port);
    peers.push(peer);
    for (let i = 0; i < 20; i++) peer.sendJson(registration());
    // Wait until the server has read them all (the first reply proves the batch reached it).
    const first = await peer.reply();
    expect(first).toMatchObject({ type: 'register_ok' });
    await running.server.close();
    let answered = 1;
    while (true) {
      try {
        const reply = await peer.reply();
        expect(reply.type).toBe('register_ok');
        answered += 1;
      } catch {
        break;
      }
    }
    expect(answered).toBe(20);
    running.store.close();
    running = undefined;
  });
});
