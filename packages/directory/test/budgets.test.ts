import { encodeFrame } from '@pilot/wire';
import { afterEach, describe, expect, it } from 'vitest';
import { Challenge, createSigner, DirErrorCode, toBase64 } from '../src/index.js';
import { type TestRegistry, testRegistry } from './helpers.js';
import { RawPeer, type RunningServer, runServer } from './tcp-helpers.js';

let reg: TestRegistry | undefined;
let running: RunningServer | undefined;
const peers: RawPeer[] = [];
afterEach(async () => {
  reg?.close();
  reg = undefined;
  for (const peer of peers.splice(0)) peer.close();
  await running?.close();
  running = undefined;
});

type N = ReturnType<TestRegistry['node']>;

function create(r: TestRegistry, n: N, name: string) {
  return r.send({
    type: 'create_network',
    node_id: n.id,
    name,
    join_rule: 'open',
    ...r.sign(n.signer, Challenge.createNetwork(n.id, name)),
  });
}

describe('registry budgets (logic)', () => {
  it('network IDs: a node creates a few networks, then is refused (leaving does not refund them)', () => {
    reg = testRegistry({
      networkCreateBurstPerNode: 3,
      networkCreateBurstPerIp: 100,
      networkCreateEveryMs: 60_000,
    });
    const a = reg.node();
    for (let i = 0; i < 3; i++) {
      expect(create(reg, a, `net-${i}`).type).toBe('create_network_ok');
      reg.ok({
        type: 'leave_network',
        node_id: a.id,
        network_id: i + 1,
        ...reg.sign(a.signer, Challenge.leaveNetwork(a.id, i + 1)),
      });
    }
    const refused = create(reg, a, 'net-3');
    expect(refused.code, JSON.stringify(refused)).toBe(DirErrorCode.RATE_LIMITED);
    expect(reg.handler.limits.counters.networkCreateLimited).toBe(1);
    // Another node is still served; the budget refills with time.
    const b = reg.node();
    const other = create(reg, b, 'net-b');
    expect(other.type, JSON.stringify(other)).toBe('create_network_ok');
    reg.clock.advance(60_000);
    const later = create(reg, a, 'net-4');
    expect(later.type, JSON.stringify(later)).toBe('create_network_ok');
  });

  it('network creation: a flood over the budget is refused before its signature is checked, and forged requests spend nothing', () => {
    reg = testRegistry({
      networkCreateBurstPerNode: 2,
      networkCreateBurstPerIp: 100,
      networkCreateEveryMs: 60_000,
    });
    const a = reg.node();
    // Forged signatures (another key): refused as such, and the node's budget is untouched.
    const mallory = createSigner();
    for (let i = 0; i < 5; i++) {
      const forged = reg.send({
        type: 'create_network',
        node_id: a.id,
        name: `forged-${i}`,
        join_rule: 'open',
        ...reg.sign(mallory, Challenge.createNetwork(a.id, `forged-${i}`)),
      });
      expect(forged.code).toBe(DirErrorCode.BAD_SIGNATURE);
    }
    expect(create(reg, a, 'net-0').type).toBe('create_network_ok');
    expect(create(reg, a, 'net-1').type).toBe('create_network_ok');
    // Spent: now even a forged request is refused for the budget, before any Ed25519 work.
    const over = reg.send({
      type: 'create_network',
      node_id: a.id,
      name: 'net-2',
      join_rule: 'open',
      ...reg.sign(mallory, Challenge.createNetwork(a.id, 'net-2')),
    });
    expect(over.code).toBe(DirErrorCode.RATE_LIMITED);
  });

  it('networks per node: creating or joining beyond the limit is refused', () => {
    reg = testRegistry({ maxNetworksPerNode: 2, networkCreateBurstPerNode: 10 });
    const a = reg.node();
    const b = reg.node();
    expect(create(reg, a, 'one').type).toBe('create_network_ok');
    expect(create(reg, a, 'two').type).toBe('create_network_ok');
    expect(create(reg, a, 'three').code).toBe(DirErrorCode.FULL);
    expect(create(reg, b, 'bee').type).toBe('create_network_ok');
    const join = reg.send({
      type: 'join_network',
      node_id: a.id,
      network_id: 3,
      ...reg.sign(a.signer, Challenge.joinNetwork(a.id, 3)),
    });
    expect(join.code).toBe(DirErrorCode.FULL);
    expect(reg.handler.limits.counters.networksPerNodeLimited).toBe(2);
  });

  it('handshake responses: one per pair, and the inbox has a cap', () => {
    reg = testRegistry({ maxHandshakeResponses: 2 });
    const victim = reg.node();
    const responders = [reg.node(), reg.node(), reg.node()];
    const respond = (n: N) =>
      reg!.send({
        type: 'respond_handshake',
        node_id: n.id,
        peer_id: victim.id,
        accept: false,
        ...reg!.sign(n.signer, Challenge.respondHandshake(n.id, victim.id)),
      });
    for (let i = 0; i < 10; i++) expect(respond(responders[0]!).type).toBe('respond_handshake_ok');
    expect(reg.store.countHandshakeResponses(victim.id)).toBe(1);
    expect(respond(responders[1]!).type).toBe('respond_handshake_ok');
    expect(respond(responders[2]!).code).toBe(DirErrorCode.INBOX_FULL);
    expect(reg.handler.limits.counters.responseInboxFull).toBe(1);
  });
});

describe('registry budgets (TCP)', () => {
  it('a frame must complete in time: a slow sender is cut off, others are served', async () => {
    running = await runServer({ frameTimeoutMs: 300 });
    const slow = await RawPeer.open(running.server.port);
    peers.push(slow);
    // A header announcing 1000 bytes, then a trickle that never completes it.
    const frame = encodeFrame(new Uint8Array(1000).fill(0x20));
    slow.send(frame.subarray(0, 10));
    const trickle = setInterval(() => {
      if (!slow.closed) slow.send(new Uint8Array([0x20]));
    }, 50);
    const good = await RawPeer.open(running.server.port);
    peers.push(good);
    good.sendJson({ type: 'beacon_list' });
    expect((await good.reply()).type).toBe('beacon_list_ok');
    await slow.waitClosed();
    clearInterval(trickle);
    expect(running.server.stats().frameTimeouts).toBe(1);
    expect(running.server.stats().bufferedBytes).toBe(0);
  });

  it('partial frames over all connections are bounded', async () => {
    running = await runServer({ maxBufferedBytes: 64 * 1024, frameTimeoutMs: 60_000 });
    const hogs: RawPeer[] = [];
    for (let i = 0; i < 4; i++) {
      const hog = await RawPeer.open(running.server.port);
      peers.push(hog);
      hogs.push(hog);
      hog.send(encodeFrame(new Uint8Array(100_000)).subarray(0, 30_000));
    }
    await Promise.race(hogs.map((hog) => hog.waitClosed()));
    expect(running.server.stats().bufferBudgetCloses).toBeGreaterThanOrEqual(1);
    expect(running.server.stats().bufferedBytes).toBeLessThanOrEqual(64 * 1024);
  });

  it('registrations per source IP are budgeted', async () => {
    running = await runServer({ registerRate: { perSecond: 0.001, burst: 5 } });
    const peer = await RawPeer.open(running.server.port);
    peers.push(peer);
    const codes: unknown[] = [];
    for (let i = 0; i < 8; i++) {
      const signer = createSigner();
      peer.sendJson({ type: 'register', public_key: toBase64(signer.publicKey), listen_addr: ':4000' });
      const reply = await peer.reply();
      codes.push(reply.type === 'register_ok' ? 'ok' : reply.code);
    }
    expect(codes.filter((c) => c === 'ok')).toHaveLength(5);
    expect(codes.filter((c) => c === DirErrorCode.RATE_LIMITED)).toHaveLength(3);
    expect(running.server.stats().registerLimited).toBe(3);
  });

  it('a connection refused registrations 16 times is hung up on; reconnects are under the connect rate per IP', async () => {
    running = await runServer({
      registerRate: { perSecond: 0.001, burst: 1 },
      connectRate: { perSecond: 0.001, burst: 3 },
    });
    const port = running.server.port;
    const peer = await RawPeer.open(port);
    peers.push(peer);
    for (let i = 0; i < 17; i++)
      peer.sendJson({
        type: 'register',
        public_key: toBase64(createSigner().publicKey),
        listen_addr: ':4000',
      });
    const replies = [];
    for (let i = 0; i < 17; i++) replies.push(await peer.reply());
    expect(replies[0]?.type).toBe('register_ok');
    expect(replies.slice(1).every((reply) => reply.code === DirErrorCode.RATE_LIMITED)).toBe(true);
    await peer.waitClosed();
    expect(running.server.stats().registerHangups).toBe(1);
    // Two more connections (burst 3), then refused at accept.
    const more = [await RawPeer.open(port), await RawPeer.open(port), await RawPeer.open(port)];
    peers.push(...more);
    await more[2]?.waitClosed();
    expect(running.server.stats().connectRateRefused).toBe(1);
  });
});
