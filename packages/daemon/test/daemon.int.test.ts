import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  DataExchangeType,
  encodeFilePayload,
  encodeServiceEvent,
  encodeServiceFrame,
  type IpcMessage,
  ServiceEventDecoder,
  ServiceFrameDecoder,
} from '@pilot/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Daemon, IpcErrorCode, LOOPBACK_DATAGRAM_CEILING } from '../src/index.js';
import { address, eventually, IpcTestClient, startNode, TestRendezvous, tempDir } from './helpers.js';

// net.Socket's destroy path touches process.stderr: open it before the leak check's baseline.
void process.stderr;

const dir = tempDir('pilot-daemon-');
let rdv: TestRendezvous;
let alpha: Daemon; // public
let beta: Daemon; // private
let gamma: Daemon; // private
const clients: IpcTestClient[] = [];

async function client(daemon: Daemon): Promise<IpcTestClient> {
  const c = await IpcTestClient.connect(daemon.socket);
  clients.push(c);
  return c;
}

async function dial(c: IpcTestClient, to: Daemon, port: number): Promise<number> {
  const reply = await c.request({ type: 'dial', address: address(to), port });
  if (reply.type !== 'dialOk') throw new Error(`dial failed: ${JSON.stringify(reply)}`);
  return reply.connId;
}

beforeAll(async () => {
  rdv = await TestRendezvous.start(dir.path);
  alpha = await startNode(rdv, dir.path, 'alpha', { public: true });
  beta = await startNode(rdv, dir.path, 'beta');
  gamma = await startNode(rdv, dir.path, 'gamma');
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all([alpha?.close(), beta?.close(), gamma?.close()]);
  await rdv?.close();
  dir.cleanup();
});

describe('a daemon', () => {
  it('registers, serves Info over IPC and keeps its files private', async () => {
    const c = await client(alpha);
    const info = await c.json({ type: 'info' });
    expect(info).toMatchObject({
      node_id: alpha.nodeId,
      address: alpha.address,
      hostname: 'alpha',
      encrypt: true,
      public: true,
      socket: alpha.socket,
      pid: process.pid,
    });
    for (const key of [
      'uptime_secs',
      'connections',
      'ports',
      'peers',
      'encrypted_peers',
      'authenticated_peers',
      'identity',
      'public_key',
      'bytes_sent',
      'bytes_recv',
      'pkts_sent',
      'pkts_recv',
      'version',
      'networks',
      'peer_list',
      'conn_list',
      'trusted',
      'pending',
      'transport',
      'endpoint',
    ]) {
      expect(info).toHaveProperty(key);
    }
    expect(info.ports).toEqual(expect.arrayContaining([7, 444, 1000, 1001, 1002]));
    expect(alpha.address).toMatch(/^0:0000\.[0-9A-F]{4}\.[0-9A-F]{4}$/);
    const home = join(dir.path, 'alpha');
    expect(statSync(home).mode & 0o777).toBe(0o700);
    expect(statSync(join(home, 'identity.json')).mode & 0o777).toBe(0o600);
    expect(statSync(alpha.socket).mode & 0o777).toBe(0o600);
    const identity = JSON.parse(readFileSync(join(home, 'identity.json'), 'utf8')) as Record<string, unknown>;
    expect(identity.public_key).toBe(info.public_key);
    const health = await c.json({ type: 'health' });
    expect(health).toMatchObject({ status: 'ok' });
  });

  it('finds a node by hostname; a private one only for who may see it', async () => {
    const c = await client(beta);
    expect(await c.json({ type: 'resolveHostname', hostname: 'alpha' })).toEqual({
      node_id: alpha.nodeId,
      address: alpha.address,
      hostname: 'alpha',
      public: true,
    });
    await expect(c.json({ type: 'resolveHostname', hostname: 'gamma' })).rejects.toMatchObject({
      ipcCode: IpcErrorCode.NOT_FOUND,
    });
    await expect(c.json({ type: 'resolveHostname', hostname: 'nobody-here' })).rejects.toMatchObject({
      ipcCode: IpcErrorCode.NOT_FOUND,
    });
  });

  it('echoes on port 7 through an encrypted tunnel', async () => {
    const c = await client(beta);
    const id = await dial(c, alpha, 7);
    c.send({ type: 'send', connId: id, data: new TextEncoder().encode('ping-1') });
    expect((await c.read(id, 6)).toString()).toBe('ping-1');
    const info = await c.json({ type: 'info' });
    const peers = info.peer_list as Record<string, unknown>[];
    expect(peers.find((p) => p.node_id === alpha.nodeId)).toMatchObject({
      encrypted: true,
      authenticated: true,
    });
    expect((info.conn_list as Record<string, unknown>[]).some((x) => x.id === id)).toBe(true);
    const closed = await c.request({ type: 'close', connId: id });
    expect(closed).toEqual({ type: 'closeOk', connId: id });
  });

  it('refuses a dial to a private node that does not trust us, an unknown node, or a closed port', async () => {
    const c = await client(alpha);
    const reply = await c.request({ type: 'dial', address: address(gamma), port: 7 });
    expect(reply).toMatchObject({ type: 'error', code: IpcErrorCode.NOT_TRUSTED });
    const unknown = await c.request({ type: 'dial', address: { network: 0, node: 0x00ab_cdef }, port: 7 });
    expect(unknown).toMatchObject({ type: 'error', code: IpcErrorCode.NOT_FOUND });
    const b = await client(beta);
    const closed = await b.request({ type: 'dial', address: address(alpha), port: 4321 });
    expect(closed).toMatchObject({ type: 'error', code: IpcErrorCode.CONNECTION_FAILED });
    const self = await b.request({ type: 'dial', address: address(beta), port: 7 });
    expect(self).toMatchObject({ type: 'error', code: IpcErrorCode.INVALID_ARGUMENT });
  });

  it('runs the trust handshake through the registry: approve, then streams flow', async () => {
    const b = await client(beta);
    const g = await client(gamma);
    const sent = await b.json({
      type: 'handshake',
      request: { action: 'send', node: gamma.nodeId, justification: 'tests need it' },
    });
    expect(sent).toMatchObject({ status: 'sent', node_id: gamma.nodeId, via: 'registry' });
    let pending: Record<string, unknown>[] = [];
    await eventually(
      async () => {
        pending = (await g.json({ type: 'handshake', request: { action: 'pending' } })).pending as Record<
          string,
          unknown
        >[];
        return pending.length > 0;
      },
      20_000,
      'a pending request on gamma',
    );
    expect(pending[0]).toMatchObject({ node_id: beta.nodeId, justification: 'tests need it' });
    expect(
      await g.json({ type: 'handshake', request: { action: 'approve', node: beta.nodeId } }),
    ).toMatchObject({
      status: 'approved',
      node_id: beta.nodeId,
    });
    await eventually(
      async () => {
        const trusted = (await b.json({ type: 'handshake', request: { action: 'trusted' } })).trusted as {
          node_id: number;
        }[];
        return trusted.some((t) => t.node_id === gamma.nodeId);
      },
      20_000,
      'beta trusting gamma',
    );
    const trustFile = JSON.parse(readFileSync(join(dir.path, 'beta', 'trust.json'), 'utf8')) as {
      trusted: { node_id: number; mutual: boolean }[];
    };
    expect(trustFile.trusted).toEqual(
      expect.arrayContaining([expect.objectContaining({ node_id: gamma.nodeId, mutual: true })]),
    );
    // Both ways now: beta → gamma and gamma → beta.
    const id = await dial(b, gamma, 7);
    b.send({ type: 'send', connId: id, data: new TextEncoder().encode('trusted') });
    expect((await b.read(id, 7)).toString()).toBe('trusted');
    const back = await dial(g, beta, 7);
    g.send({ type: 'send', connId: back, data: new TextEncoder().encode('back') });
    expect((await g.read(back, 4)).toString()).toBe('back');
  });

  it('keeps a rejected requester out', async () => {
    const a = await client(alpha);
    const g = await client(gamma);
    expect(
      await a.json({
        type: 'handshake',
        request: { action: 'send', node: gamma.nodeId, justification: 'let me in' },
      }),
    ).toMatchObject({ status: 'sent' });
    await eventually(
      async () => {
        const pending = (await g.json({ type: 'handshake', request: { action: 'pending' } })).pending as {
          node_id: number;
        }[];
        return pending.some((p) => p.node_id === alpha.nodeId);
      },
      20_000,
      'a pending request from alpha',
    );
    expect(
      await g.json({ type: 'handshake', request: { action: 'reject', node: alpha.nodeId, reason: 'no' } }),
    ).toMatchObject({ status: 'rejected', node_id: alpha.nodeId });
    const pending = (await g.json({ type: 'handshake', request: { action: 'pending' } }))
      .pending as unknown[];
    expect(pending).toEqual([]);
    const reply = await a.request({ type: 'dial', address: address(gamma), port: 7 });
    expect(reply).toMatchObject({ type: 'error', code: IpcErrorCode.NOT_TRUSTED });
    await expect(
      g.json({ type: 'handshake', request: { action: 'reject', node: alpha.nodeId, reason: 'again' } }),
    ).rejects.toMatchObject({ ipcCode: IpcErrorCode.NOT_FOUND });
  });

  it('saves data-exchange messages and a multi-MiB file whose sha256 matches', async () => {
    const c = await client(beta);
    const id = await dial(c, alpha, 1001);
    const file = randomBytes(3 * 1024 * 1024 + 123);
    const half = 2 * 1024 * 1024;
    const frames = [
      encodeServiceFrame({ type: DataExchangeType.TEXT, payload: new TextEncoder().encode('hello alpha') }),
      encodeServiceFrame({ type: DataExchangeType.JSON, payload: new TextEncoder().encode('{"k":1}') }),
      encodeServiceFrame({
        type: DataExchangeType.FILE,
        payload: encodeFilePayload({ name: 'data.bin', data: file.subarray(0, half) }),
      }),
      encodeServiceFrame({
        type: DataExchangeType.FILE,
        payload: encodeFilePayload({ name: 'data.bin', data: file.subarray(half) }),
      }),
      encodeServiceFrame({ type: 99, payload: new Uint8Array(1) }),
    ];
    const all = Buffer.concat(frames);
    for (let offset = 0; offset < all.length; offset += 60_000) {
      c.send({ type: 'send', connId: id, data: all.subarray(offset, offset + 60_000) });
    }
    const decoder = new ServiceFrameDecoder();
    const acks: string[] = [];
    while (acks.length < 5) {
      const m = await c.next((x) => x.type === 'recv' && x.connId === id, 60_000);
      if (m.type === 'recv')
        for (const f of decoder.push(m.data)) acks.push(new TextDecoder().decode(f.payload));
    }
    expect(acks).toEqual([
      'ACK TEXT 11 bytes',
      'ACK JSON 7 bytes',
      `ACK FILE ${half} bytes`,
      `ACK FILE ${file.length - half} bytes`,
      'ERR unknown frame type 99',
    ]);
    expect(await c.request({ type: 'close', connId: id })).toMatchObject({ type: 'closeOk' });
    const received = join(dir.path, 'alpha', 'received');
    await eventually(() => readdirSync(received).length === 1, 10_000, 'the received file');
    const name = readdirSync(received)[0] as string;
    expect(name).toMatch(/^data-.*\.bin$/);
    await eventually(() => statSync(join(received, name)).size === file.length, 10_000, 'the whole file');
    const sha = createHash('sha256')
      .update(readFileSync(join(received, name)))
      .digest('hex');
    expect(sha).toBe(createHash('sha256').update(file).digest('hex'));
    const inbox = readdirSync(join(dir.path, 'alpha', 'inbox'));
    const texts = inbox.map(
      (f) => JSON.parse(readFileSync(join(dir.path, 'alpha', 'inbox', f), 'utf8')) as Record<string, unknown>,
    );
    expect(texts).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'text', data: 'hello alpha', from: beta.address }),
        expect.objectContaining({ type: 'json', data: '{"k":1}' }),
      ]),
    );
  });

  it('negotiates large datagrams with a pilot-ts peer, probes the loopback path up to 64 KiB and moves data at that size', async () => {
    const c = await client(beta);
    const id = await dial(c, alpha, 7);
    c.send({ type: 'send', connId: id, data: new TextEncoder().encode('mtu') });
    expect((await c.read(id, 3)).toString()).toBe('mtu');
    let entry: Record<string, unknown> | undefined;
    await eventually(
      async () => {
        const info = await c.json({ type: 'info' });
        entry = (info.peer_list as Record<string, unknown>[]).find((p) => p.node_id === alpha.nodeId);
        return entry?.path_mtu === LOOPBACK_DATAGRAM_CEILING;
      },
      20_000,
      'the loopback ceiling (64 KiB) as the path MTU towards alpha',
    );
    expect(entry?.capabilities).toContain('large-datagrams');
    expect(entry?.forward_secret).toBe(true);
    // 4 MiB through the echo in 64 KiB datagrams, byte-exact.
    const data = randomBytes(4 * 1024 * 1024);
    for (let at = 0; at < data.length; at += 60_000) {
      c.send({ type: 'send', connId: id, data: data.subarray(at, at + 60_000) });
    }
    expect((await c.read(id, data.length)).equals(data)).toBe(true);
    await c.request({ type: 'close', connId: id });
  });

  it('drops the packet CRC inside PILS with a pilot-ts peer that negotiated aead-checksum-free, and keeps it with one that did not', async () => {
    const c = await client(beta);
    const transportOf = async (on: IpcTestClient) =>
      (await on.json({ type: 'info' })).transport as Record<string, number>;
    const peerOf = async (on: IpcTestClient, node: number) =>
      ((await on.json({ type: 'info' })).peer_list as Record<string, unknown>[]).find(
        (p) => p.node_id === node,
      );
    const id = await dial(c, alpha, 7);
    c.send({ type: 'send', connId: id, data: new TextEncoder().encode('crc') });
    expect((await c.read(id, 3)).toString()).toBe('crc');
    const a = await client(alpha);
    await eventually(
      async () =>
        (await peerOf(c, alpha.nodeId))?.checksum_free === true &&
        (await peerOf(a, beta.nodeId))?.checksum_free === true,
      10_000,
      'checksum_free on both ends',
    );
    expect((await peerOf(c, alpha.nodeId))?.capabilities).toContain('aead-checksum-free');
    const [betaBefore, alphaBefore] = [await transportOf(c), await transportOf(a)];
    // 1 MiB through alpha's echo: every packet both ways without a CRC, byte-exact.
    const data = randomBytes(1024 * 1024);
    for (let at = 0; at < data.length; at += 60_000) {
      c.send({ type: 'send', connId: id, data: data.subarray(at, at + 60_000) });
    }
    expect((await c.read(id, data.length)).equals(data)).toBe(true);
    await c.request({ type: 'close', connId: id });
    const [betaAfter, alphaAfter] = [await transportOf(c), await transportOf(a)];
    for (const [before, after] of [
      [betaBefore, betaAfter],
      [alphaBefore, alphaAfter],
    ] as const) {
      expect(after.checksumsOmitted! - before.checksumsOmitted!).toBeGreaterThan(10);
      expect(after.checksumsSkipped! - before.checksumsSkipped!).toBeGreaterThan(10);
      expect(after.badChecksum).toBe(before.badChecksum);
    }

    // A daemon that turns it off: the spec's CRC both ways with it, the same data still byte-exact.
    const delta = await startNode(rdv, dir.path, 'delta', { public: true, aeadChecksumFree: false });
    try {
      const id2 = await dial(c, delta, 7);
      c.send({ type: 'send', connId: id2, data: data.subarray(0, 200_000) });
      expect((await c.read(id2, 200_000)).equals(data.subarray(0, 200_000))).toBe(true);
      const peer = await peerOf(c, delta.nodeId);
      expect(peer?.capabilities).not.toContain('aead-checksum-free');
      expect(peer?.checksum_free).toBe(false);
      expect((await transportOf(c)).badChecksum).toBe(betaAfter.badChecksum);
      await c.request({ type: 'close', connId: id2 });
    } finally {
      await delta.close();
    }
  });

  it('publishes events to matching subscribers only, never back to the sender', async () => {
    const sub1 = await client(beta);
    const sub2 = await client(gamma);
    const pub = await client(beta);
    const s1 = await dial(sub1, alpha, 1002);
    const s2 = await dial(sub2, alpha, 1002);
    const p = await dial(pub, alpha, 1002);
    const event = (topic: string, text: string): Uint8Array =>
      encodeServiceEvent({ topic, payload: new TextEncoder().encode(text) });
    sub1.send({ type: 'send', connId: s1, data: event('weather.*', '') });
    sub2.send({ type: 'send', connId: s2, data: event('news', '') });
    pub.send({ type: 'send', connId: p, data: event('*', '') });
    const c = await client(alpha);
    await eventually(async () => {
      const info = await c.json({ type: 'info' });
      return (info.eventstream as { subscribers: number }).subscribers === 3;
    });
    // Subscriptions travel on other streams than the events: give them a moment to be registered.
    await eventually(async () => {
      const info = await c.json({ type: 'info' });
      return (
        (info.conn_list as { local_port: number; bytes_recv: number }[]).filter(
          (x) => x.local_port === 1002 && x.bytes_recv > 0,
        ).length === 3
      );
    });
    pub.send({ type: 'send', connId: p, data: event('weather.metar', 'EGLL 12012KT') });
    pub.send({ type: 'send', connId: p, data: event('news', 'headline') });
    const got1 = new ServiceEventDecoder().push(await sub1.read(s1, 2 + 13 + 4 + 12));
    expect(got1.map((e) => [e.topic, new TextDecoder().decode(e.payload)])).toEqual([
      ['weather.metar', 'EGLL 12012KT'],
    ]);
    const got2 = new ServiceEventDecoder().push(await sub2.read(s2, 2 + 4 + 4 + 8));
    expect(got2.map((e) => [e.topic, new TextDecoder().decode(e.payload)])).toEqual([['news', 'headline']]);
    expect(pub.messages.filter((m) => m.type === 'recv' && m.connId === p)).toEqual([]);
  });

  it('carries datagrams to every IPC client as RecvFrom', async () => {
    const listener = await client(alpha);
    const other = await client(alpha);
    const sender = await client(beta);
    await listener.request({ type: 'info' });
    await other.request({ type: 'info' });
    const data = new TextEncoder().encode('datagram!');
    sender.send({ type: 'sendTo', address: address(alpha), port: 5555, data });
    for (const c of [listener, other]) {
      const m = await c.next((x) => x.type === 'recvFrom');
      expect(m).toMatchObject({ type: 'recvFrom', remoteAddress: address(beta), localPort: 5555 });
      if (m.type === 'recvFrom') expect(new TextDecoder().decode(m.data)).toBe('datagram!');
    }
    // A private node drops datagrams from strangers.
    const g = await client(gamma);
    await g.request({ type: 'info' });
    const a = await client(alpha);
    const dropped = (): number => (gamma.info().transport as { notAdmitted: number }).notAdmitted;
    const before = dropped();
    a.send({ type: 'sendTo', address: address(gamma), port: 5555, data });
    // Refused by alpha when no tunnel exists yet (resolve denied), else dropped silently by gamma.
    await eventually(() => dropped() > before || a.messages.some((x) => x.type === 'error'));
    const error = a.messages.find((x) => x.type === 'error');
    if (error !== undefined) expect(error).toMatchObject({ code: IpcErrorCode.NOT_TRUSTED });
    expect(g.messages.filter((x) => x.type === 'recvFrom')).toEqual([]);
  });

  it('binds ports for IPC clients: Accept, Recv both ways, unsolicited CloseOK, unbind on disconnect', async () => {
    const server = await client(alpha);
    expect(await server.request({ type: 'bind', port: 4000 })).toEqual({ type: 'bindOk', port: 4000 });
    const thief = await client(alpha);
    expect(await thief.request({ type: 'bind', port: 4000 })).toMatchObject({
      type: 'error',
      code: IpcErrorCode.ALREADY_EXISTS,
    });
    expect(await thief.request({ type: 'bind', port: 1001 })).toMatchObject({
      type: 'error',
      code: IpcErrorCode.ALREADY_EXISTS,
    });
    const dialer = await client(beta);
    const id = await dial(dialer, alpha, 4000);
    const accept = await server.next((m) => m.type === 'accept');
    expect(accept).toMatchObject({ type: 'accept', localPort: 4000, remoteAddress: address(beta) });
    if (accept.type !== 'accept') throw new Error('no accept');
    dialer.send({ type: 'send', connId: id, data: new TextEncoder().encode('question') });
    expect((await server.read(accept.connId, 8)).toString()).toBe('question');
    server.send({ type: 'send', connId: accept.connId, data: new TextEncoder().encode('answer') });
    expect((await dialer.read(id, 6)).toString()).toBe('answer');
    // The server closes: the dialer learns it with an unsolicited CloseOK.
    expect(await server.request({ type: 'close', connId: accept.connId })).toMatchObject({ type: 'closeOk' });
    expect(await dialer.next((m) => m.type === 'closeOk' && m.connId === id)).toBeTruthy();
    // The binding client goes away: its connections get a FIN and its port is free again.
    const id2 = await dial(dialer, alpha, 4000);
    const accept2 = await server.next((m) => m.type === 'accept');
    expect(accept2).toMatchObject({ localPort: 4000 });
    await server.close();
    expect(await dialer.next((m) => m.type === 'closeOk' && m.connId === id2)).toBeTruthy();
    await eventually(async () => (await thief.request({ type: 'bind', port: 4000 })).type === 'bindOk');
  });

  it('stdio port 1000 lands in the inbox, unless an IPC client bound it', async () => {
    const c = await client(beta);
    const id = await dial(c, alpha, 1000);
    c.send({ type: 'send', connId: id, data: new TextEncoder().encode('line of text\n') });
    await c.request({ type: 'close', connId: id });
    const inbox = join(dir.path, 'alpha', 'inbox');
    await eventually(() =>
      readdirSync(inbox).some((f) => readFileSync(join(inbox, f), 'utf8').includes('line of text')),
    );
    const owner = await client(alpha);
    expect(await owner.request({ type: 'bind', port: 1000 })).toMatchObject({ type: 'bindOk' });
    const id2 = await dial(c, alpha, 1000);
    const accept = await owner.next((m) => m.type === 'accept');
    expect(accept).toMatchObject({ localPort: 1000 });
    await c.request({ type: 'close', connId: id2 });
    await owner.close();
  });

  it('answers garbage on the IPC socket with an Error and keeps serving', async () => {
    const c = await client(alpha);
    // An unknown command, a truncated Dial, and a Handshake with an unknown sub-command.
    for (const bytes of [
      [0x7f, 1, 2],
      [0x03, 0, 0],
      [0x0f, 0x99],
    ]) {
      const frame = Buffer.alloc(4 + bytes.length);
      frame.writeUInt32BE(bytes.length, 0);
      Buffer.from(bytes).copy(frame, 4);
      c.socket.write(frame);
      const reply = await c.next((m) => m.type === 'error');
      expect(reply).toMatchObject({ type: 'error', code: IpcErrorCode.INVALID_ARGUMENT });
    }
    c.send({ type: 'send', connId: 123_456, data: new Uint8Array(1) });
    expect(await c.next((m) => m.type === 'error')).toMatchObject({ code: IpcErrorCode.INVALID_ARGUMENT });
    expect((await c.json({ type: 'info' })).node_id).toBe(alpha.nodeId);
    // A frame over 1 MiB loses the framing: an Error, then that client is disconnected; others go on.
    const big = await IpcTestClient.connect(alpha.socket);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(2 * 1024 * 1024, 0);
    big.socket.write(header);
    expect(await big.next((m: IpcMessage) => m.type === 'error')).toMatchObject({
      code: IpcErrorCode.INVALID_ARGUMENT,
    });
    await eventually(() => big.closed, 10_000, 'the garbage client disconnected');
    expect((await c.json({ type: 'info' })).ipc_garbage).toBeGreaterThanOrEqual(4);
  });

  it('refuses to start on a socket a live daemon serves', async () => {
    await expect(startNode(rdv, dir.path, 'alpha-twin', { socket: alpha.socket })).rejects.toMatchObject({
      code: 'DAEMON_SOCKET_IN_USE',
    });
    const c = await client(alpha);
    expect((await c.json({ type: 'info' })).node_id).toBe(alpha.nodeId);
  });

  it('sets hostname, tags and visibility through the registry', async () => {
    const c = await client(gamma);
    expect(await c.json({ type: 'setHostname', hostname: 'gamma-two' })).toMatchObject({
      hostname: 'gamma-two',
    });
    expect(await c.json({ type: 'setTags', json: '["llm.chat","weather"]' })).toMatchObject({
      tags: ['llm.chat', 'weather'],
    });
    await expect(c.json({ type: 'setTags', json: 'nope' })).rejects.toMatchObject({
      ipcCode: IpcErrorCode.INVALID_ARGUMENT,
    });
    expect(await c.json({ type: 'setVisibility', public: true })).toMatchObject({ public: true });
    const a = await client(alpha);
    expect(await a.json({ type: 'resolveHostname', hostname: 'gamma-two' })).toMatchObject({
      node_id: gamma.nodeId,
    });
    expect(await c.json({ type: 'setVisibility', public: false })).toMatchObject({ public: false });
    const info = await c.json({ type: 'info' });
    expect(info).toMatchObject({ hostname: 'gamma-two', tags: ['llm.chat', 'weather'], public: false });
    await expect(c.json({ type: 'setWebhook', url: 'http://169.254.169.254/latest' })).rejects.toMatchObject({
      ipcCode: IpcErrorCode.INVALID_ARGUMENT,
    });
  });
});
