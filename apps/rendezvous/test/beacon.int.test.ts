// The program as users run it: registry and beacon in one process, the health endpoint, and a
// clean shutdown of both. Needs `pnpm run build` first.
import { spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSigner, DirectoryClient } from '@pilot/directory/client';
import { BeaconClient, encodeBindingRequest, stunBinding } from '@pilot/nat';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { exited, killAll, MAIN, type Program, startProgram } from './program.js';

const dir = mkdtempSync(join(tmpdir(), 'rdv-beacon-'));
const children: Program[] = [];
const start = (args: string[]) => startProgram(args, children);
const sockets: Socket[] = [];

afterEach(async () => {
  killAll(children);
  await Promise.all(
    sockets.splice(0).map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function hostPort(text: string | boolean | undefined): { address: string; port: number } {
  const match = /^(.*):(\d+)$/.exec(String(text));
  if (match === null) throw new Error(`not host:port: ${String(text)}`);
  return { address: match[1] ?? '', port: Number(match[2]) };
}

async function udp(): Promise<Socket> {
  const socket = createSocket('udp4');
  sockets.push(socket);
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return socket;
}

function get(at: { address: string; port: number }, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: at.address,
        port: at.port,
        path,
        method: 'GET',
        agent: false,
        headers: { connection: 'close' },
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    req.once('error', reject);
    req.end();
  });
}

describe('pilot-rendezvous: registry + beacon', () => {
  it('answers discover, STUN and registry requests, reports /healthz, and stops both on SIGTERM', async () => {
    const store = join(dir, 'registry.db');
    const started = await start([
      '--registry-addr',
      '127.0.0.1:0',
      '--beacon-addr',
      '127.0.0.1:0',
      '--http',
      '127.0.0.1:0',
      '--store',
      store,
    ]);
    const registry = hostPort(started.announce.registry);
    const beacon = hostPort(started.announce.beacon);
    const http = hostPort(started.announce.http);
    expect(beacon.address).toBe('127.0.0.1');
    expect(beacon.port).toBeGreaterThan(0);

    // Beacon: discover registers the node and returns where the beacon saw it.
    const socket = await udp();
    const node = new BeaconClient(socket, { node: 4242, beacon });
    const seen = await node.discover({ rto: 200, retries: 6 });
    expect(seen).toEqual({ address: '127.0.0.1', port: socket.address().port });
    // STUN Binding on the same port.
    const { reflexive } = await stunBinding(socket, beacon, { rto: 200, retries: 6 });
    expect(reflexive.port).toBe(socket.address().port);
    node.close();

    // Registry: a real registration over TCP.
    const client = await DirectoryClient.connect({ host: registry.address, port: registry.port });
    const { nodeId } = await client.register(createSigner(), {
      listenAddr: ':4000',
      hostname: 'beacon-test',
    });
    expect(await client.lookup(nodeId)).toMatchObject({ nodeId, hostname: 'beacon-test' });

    const health = await get(http, '/healthz');
    expect(health.status).toBe(200);
    const report = JSON.parse(health.body) as Record<string, Record<string, unknown>>;
    expect(report.status).toBe('ok');
    expect(report.registry).toMatchObject({
      address: started.announce.registry,
      tls: true,
      fingerprint: started.announce.fingerprint,
      plaintext: true,
      connections: 1,
      liveNodes: 1,
    });
    expect(report.beacon).toMatchObject({ address: started.announce.beacon, nodes: 1 });
    expect(report.beacon?.stats).toMatchObject({ discover: 1, discoverReplies: 1, stunRequests: 1 });
    expect((await get(http, '/nope')).status).toBe(404);
    client.close();

    started.child.kill('SIGTERM');
    expect(await exited(started.child)).toBe(0);
    expect(started.stderr()).toContain('"msg":"stopped"');
    // Both ports are free again: the beacon's UDP socket and the registry's TCP listener were closed.
    const rebound = createSocket('udp4');
    sockets.push(rebound);
    await new Promise<void>((resolve, reject) => {
      rebound.once('error', reject);
      rebound.bind(beacon.port, '127.0.0.1', () => resolve());
    });
    await expect(DirectoryClient.connect({ host: registry.address, port: registry.port })).rejects.toThrow();
  });

  it("answers a reference daemon's bare 5-byte discover by default; --beacon-amplification strict does not", async () => {
    // The reference sends Discover as [0x01][u32 node] and waits 5 s for the 8-byte reply; without
    // it, it registers its local address (behind a NAT, one nobody can reach).
    const discover = Uint8Array.of(0x01, 0, 0, 0x1e, 0x61);
    const replyTo = async (args: string[]): Promise<Uint8Array | undefined> => {
      const started = await start([
        '--registry-addr',
        '127.0.0.1:0',
        '--beacon-addr',
        '127.0.0.1:0',
        '--store',
        ':memory:',
        ...args,
      ]);
      const beacon = hostPort(started.announce.beacon);
      const socket = await udp();
      const reply = new Promise<Uint8Array | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), 1500);
        socket.once('message', (bytes: Buffer) => {
          clearTimeout(timer);
          resolve(new Uint8Array(bytes));
        });
      });
      socket.send(discover, beacon.port, beacon.address);
      const got = await reply;
      started.child.kill('SIGTERM');
      await exited(started.child);
      return got;
    };
    const answered = await replyTo([]);
    expect(answered?.length).toBe(8);
    expect(Array.from(answered?.subarray(0, 6) ?? [])).toEqual([0x02, 4, 127, 0, 0, 1]);
    expect(await replyTo(['--beacon-amplification', 'strict'])).toBeUndefined();
  });

  it('serves a second reflector with --stun-addr: both ports report the same mapping', async () => {
    const started = await start([
      '--registry-addr',
      '127.0.0.1:0',
      '--beacon-addr',
      '127.0.0.1:0',
      '--stun-addr',
      '127.0.0.1:0',
      '--http',
      '127.0.0.1:0',
      '--store',
      ':memory:',
    ]);
    const beacon = hostPort(started.announce.beacon);
    const stun = hostPort(started.announce.stun);
    expect(stun.port).toBeGreaterThan(0);
    expect(stun.port).not.toBe(beacon.port);
    const socket = await udp();
    const first = await stunBinding(socket, beacon, { rto: 200, retries: 6 });
    const second = await stunBinding(socket, stun, { rto: 200, retries: 6 });
    expect(second.reflexive).toEqual(first.reflexive);
    // A beacon discover of node 0 (what classifyNat sends) is answered too, and registers nothing.
    const probe = new BeaconClient(socket, { node: 0, beacon: stun });
    expect((await probe.discover({ rto: 200, retries: 6 })).port).toBe(socket.address().port);
    probe.close();
    const report = JSON.parse((await get(hostPort(started.announce.http), '/healthz')).body) as Record<
      string,
      Record<string, unknown>
    >;
    expect(report.stun).toMatchObject({ address: started.announce.stun, nodes: 0 });
    expect(report.stun?.stats).toMatchObject({ stunRequests: 1 });
    started.child.kill('SIGTERM');
    expect(await exited(started.child)).toBe(0);
  });

  it('serves the second reflector by default beside the beacon, and the registry advertises its port', async () => {
    // Two consecutive free ports: the beacon takes the first; the second stays held, so the
    // default reflector port (the beacon's + 1) is taken and the OS chooses another.
    let held: Socket | undefined;
    let beaconPort = 0;
    for (let tries = 0; held === undefined && tries < 50; tries++) {
      const first = await udp();
      const port = first.address().port;
      const second = createSocket('udp4');
      const ok = await new Promise<boolean>((resolve) => {
        second.once('error', () => resolve(false));
        second.bind(port + 1, '127.0.0.1', () => resolve(true));
      });
      if (!ok) {
        second.close();
        continue;
      }
      sockets.push(second);
      held = second;
      beaconPort = port;
      await new Promise<void>((resolve) => first.close(() => resolve()));
      sockets.splice(sockets.indexOf(first), 1);
    }
    const started = await start([
      '--registry-addr',
      '127.0.0.1:0',
      '--beacon-addr',
      `127.0.0.1:${beaconPort}`,
      '--store',
      ':memory:',
      '--tls=false',
    ]);
    const stun = hostPort(started.announce.stun);
    expect(stun.port).toBeGreaterThan(0);
    expect(stun.port).not.toBe(beaconPort + 1);
    expect(started.stderr()).toContain('the default STUN reflector port is taken');
    const socket = await udp();
    const probe = new BeaconClient(socket, { node: 0, beacon: stun });
    expect((await probe.discover({ rto: 200, retries: 6 })).port).toBe(socket.address().port);
    probe.close();
    // What daemons learn at registration: the reflector's port (the `reflector` extension).
    const registry = hostPort(started.announce.registry);
    const client = await DirectoryClient.connect({ host: registry.address, port: registry.port });
    try {
      const registered = await client.register(createSigner(), { listenAddr: ':4000' });
      expect(registered.reflectorPort).toBe(stun.port);
    } finally {
      client.close();
    }
    started.child.kill('SIGTERM');
    expect(await exited(started.child)).toBe(0);

    // --stun-addr off: no second reflector, nothing advertised.
    const off = await start([
      '--registry-addr',
      '127.0.0.1:0',
      '--beacon-addr',
      '127.0.0.1:0',
      '--stun-addr',
      'off',
      '--store',
      ':memory:',
      '--tls=false',
    ]);
    expect(off.announce.stun).toBeUndefined();
    const offRegistry = hostPort(off.announce.registry);
    const offClient = await DirectoryClient.connect({ host: offRegistry.address, port: offRegistry.port });
    try {
      expect(
        (await offClient.register(createSigner(), { listenAddr: ':4000' })).reflectorPort,
      ).toBeUndefined();
    } finally {
      offClient.close();
    }
    off.child.kill('SIGTERM');
    expect(await exited(off.child)).toBe(0);
  });

  it('stops on SIGINT with a STUN request in flight, and refuses a taken beacon port', async () => {
    const first = await start([
      '--registry-addr',
      '127.0.0.1:0',
      '--beacon-addr',
      '127.0.0.1:0',
      '--store',
      ':memory:',
    ]);
    const beacon = hostPort(first.announce.beacon);
    expect(first.announce.http).toBeUndefined();
    const clash = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        [
          MAIN,
          '--registry-addr',
          '127.0.0.1:0',
          '--beacon-addr',
          `127.0.0.1:${beacon.port}`,
          '--store',
          ':memory:',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.once('close', (code) => resolve({ code, stderr }));
    });
    expect(clash.code).toBe(1);
    expect(clash.stderr).toContain('cannot start the beacon');
    expect(clash.stderr).toContain('RDV_START_FAILED');

    const socket = await udp();
    // A padded request the strict beacon answers; send it raw and stop right after.
    socket.send(encodeBindingRequest(new Uint8Array(12).fill(7)), beacon.port, beacon.address);
    first.child.kill('SIGINT');
    expect(await exited(first.child)).toBe(0);
  });
});
