import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { decodeIdentityFile } from '@pilot/crypto';
import { DirectoryClient, signerFromIdentity } from '@pilot/directory/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Daemon, IpcErrorCode } from '../src/index.js';
import { address, eventually, IpcTestClient, startNode, TestRendezvous, tempDir } from './helpers.js';

void process.stderr;

const dir = tempDir('pilot-daemon-trust-');
let rdv: TestRendezvous;
let hooks: Server;
let hookUrl: string;
const events: Record<string, unknown>[] = [];
let refuseNext = 1;
const clients: IpcTestClient[] = [];
const daemons: Daemon[] = [];

async function client(daemon: Daemon): Promise<IpcTestClient> {
  const c = await IpcTestClient.connect(daemon.socket);
  clients.push(c);
  return c;
}

async function trusted(c: IpcTestClient): Promise<number[]> {
  const reply = await c.json({ type: 'handshake', request: { action: 'trusted' } });
  return (reply.trusted as { node_id: number }[]).map((t) => t.node_id);
}

beforeAll(async () => {
  rdv = await TestRendezvous.start(dir.path);
  hooks = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on('end', () => {
      if (refuseNext > 0) {
        refuseNext--;
        response.writeHead(500).end();
        return;
      }
      events.push(JSON.parse(body) as Record<string, unknown>);
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => hooks.listen(0, '127.0.0.1', resolve));
  hookUrl = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/hook`;
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(daemons.map((d) => d.close()));
  await rdv.close();
  hooks.closeAllConnections();
  await new Promise<void>((resolve) => hooks.close(() => resolve()));
  dir.cleanup();
});

describe('trust', () => {
  it('approves crossing requests by itself (mutual), and both sides can then dial', async () => {
    const a = await startNode(rdv, dir.path, 'mutual-a');
    const b = await startNode(rdv, dir.path, 'mutual-b');
    daemons.push(a, b);
    const ca = await client(a);
    const cb = await client(b);
    await ca.json({ type: 'handshake', request: { action: 'send', node: b.nodeId, justification: 'a→b' } });
    await cb.json({ type: 'handshake', request: { action: 'send', node: a.nodeId, justification: 'b→a' } });
    await eventually(
      async () => (await trusted(ca)).includes(b.nodeId) && (await trusted(cb)).includes(a.nodeId),
      20_000,
      'mutual trust',
    );
    expect((await cb.json({ type: 'handshake', request: { action: 'pending' } })).pending).toEqual([]);
    const d = await ca.request({ type: 'dial', address: address(b), port: 7 });
    expect(d.type).toBe('dialOk');
  });

  it('approve without a request is a pre-approval: nothing revealed until the other side asks, then mutual', async () => {
    const host = await startNode(rdv, dir.path, 'pre-host');
    const guest = await startNode(rdv, dir.path, 'pre-guest');
    daemons.push(host, guest);
    const ch = await client(host);
    const cg = await client(guest);
    const pre = await ch.json({ type: 'handshake', request: { action: 'approve', node: guest.nodeId } });
    expect(pre.status).toBe('pre-approved');
    // The registry does not let the guest resolve the (private) host on the host's word alone.
    const registry = await DirectoryClient.connect({ host: '127.0.0.1', port: rdv.server.port });
    const guestSigner = signerFromIdentity(
      decodeIdentityFile(readFileSync(join(dir.path, 'pre-guest', 'identity.json'), 'utf8')),
    );
    await expect(registry.resolve(guestSigner, guest.nodeId, host.nodeId)).rejects.toMatchObject({
      code: 'DIR_RESOLVE_DENIED',
    });
    // The guest asks: the host, having pre-approved it, approves at once, and the pair resolves.
    await cg.json({ type: 'handshake', request: { action: 'send', node: host.nodeId, justification: 'hi' } });
    await eventually(async () => (await trusted(cg)).includes(host.nodeId), 20_000, 'guest trusted by host');
    expect((await registry.resolve(guestSigner, guest.nodeId, host.nodeId)).realAddr).not.toBeNull();
    registry.close();
  });

  it('auto-approves with --trust-auto-approve, posts webhook events (retrying), and revokes', async () => {
    const open = await startNode(rdv, dir.path, 'open-door', { trustAutoApprove: true, webhook: hookUrl });
    const asker = await startNode(rdv, dir.path, 'asker');
    daemons.push(open, asker);
    const co = await client(open);
    const ca = await client(asker);
    await ca.json({
      type: 'handshake',
      request: { action: 'send', node: open.nodeId, justification: 'hello' },
    });
    await eventually(
      async () => (await trusted(ca)).includes(open.nodeId),
      20_000,
      'asker trusted by open-door',
    );
    expect(await trusted(co)).toContain(asker.nodeId);
    const d = await ca.request({ type: 'dial', address: address(open), port: 7 });
    expect(d.type).toBe('dialOk');
    await eventually(() => events.some((e) => e.event === 'handshake.approved'), 20_000, 'the webhook event');
    const registered = events.find((e) => e.event === 'node.registered');
    expect(registered).toMatchObject({ node_id: open.nodeId, data: { address: open.address } });
    expect(registered?.event_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(typeof registered?.timestamp).toBe('string');
    // Revoke: both sides drop the trust, and the asker can no longer reach the private node.
    expect(
      await co.json({ type: 'handshake', request: { action: 'revoke', node: asker.nodeId } }),
    ).toMatchObject({
      status: 'revoked',
    });
    await eventually(
      async () => !(await trusted(ca)).includes(open.nodeId),
      20_000,
      'the revoke seen by the asker',
    );
    const refused = await ca.request({ type: 'dial', address: address(open), port: 7 });
    expect(refused).toMatchObject({ type: 'error', code: IpcErrorCode.NOT_TRUSTED });
    await expect(
      co.json({ type: 'handshake', request: { action: 'revoke', node: asker.nodeId } }),
    ).rejects.toMatchObject({
      ipcCode: IpcErrorCode.NOT_FOUND,
    });
  });

  it('keeps trust across a restart (trust.json) and reports it to the registry again', async () => {
    const a = await startNode(rdv, dir.path, 'keeper');
    const b = await startNode(rdv, dir.path, 'kept', { trustAutoApprove: true });
    daemons.push(b);
    const ca = await client(a);
    await ca.json({ type: 'handshake', request: { action: 'send', node: b.nodeId, justification: 'x' } });
    await eventually(async () => (await trusted(ca)).includes(b.nodeId), 20_000, 'trust');
    await ca.close();
    await a.close();
    const again = await startNode(rdv, dir.path, 'keeper');
    daemons.push(again);
    const c2 = await client(again);
    expect(await trusted(c2)).toContain(b.nodeId);
    const d = await c2.request({ type: 'dial', address: address(b), port: 7 });
    expect(d.type).toBe('dialOk');
  });

  it('lets members of a shared network reach each other without a handshake, and broadcasts to them', async () => {
    const x = await startNode(rdv, dir.path, 'net-x');
    const y = await startNode(rdv, dir.path, 'net-y');
    const outsider = await startNode(rdv, dir.path, 'net-out');
    daemons.push(x, y, outsider);
    const identity = decodeIdentityFile(readFileSync(join(dir.path, 'net-x', 'identity.json'), 'utf8'));
    const registry = await DirectoryClient.connect({ host: '127.0.0.1', port: rdv.server.port });
    const network = await registry.createNetwork(signerFromIdentity(identity), x.nodeId, 'lab', 'open');
    registry.close();
    const cx = await client(x);
    const cy = await client(y);
    const joinLab = { type: 'network', request: { action: 'join', network, token: '' } } as const;
    expect(await cx.json(joinLab)).toMatchObject({ network_id: network });
    expect(await cy.json(joinLab)).toMatchObject({ network_id: network });
    const d = await cy.request({ type: 'dial', address: address(x), port: 7 }, 40_000);
    expect(d.type).toBe('dialOk');
    const info = await cy.json({ type: 'info' });
    expect(info.networks).toEqual(expect.arrayContaining([expect.objectContaining({ network_id: network })]));
    // A broadcast on the network reaches every other member (datagrams may be lost: send a few).
    const data = new TextEncoder().encode('to all');
    const got = cx.next((m) => m.type === 'recvFrom' && m.localPort === 6000, 20_000);
    const timer = setInterval(
      () => cy.send({ type: 'sendTo', address: { network, node: 0xffff_ffff }, port: 6000, data }),
      300,
    );
    try {
      expect(await got).toMatchObject({ remoteAddress: { node: y.nodeId } });
    } finally {
      clearInterval(timer);
    }
    // Not a member: no broadcast, and the private members stay out of reach.
    const co = await client(outsider);
    co.send({ type: 'sendTo', address: { network, node: 0xffff_ffff }, port: 6000, data });
    expect(await co.next((m) => m.type === 'error')).toMatchObject({ code: IpcErrorCode.NOT_TRUSTED });
    expect(await co.request({ type: 'dial', address: address(x), port: 7 })).toMatchObject({
      type: 'error',
      code: IpcErrorCode.NOT_TRUSTED,
    });
  });
});
