import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeIdentityFile, generateIdentity } from '@pilot/crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, LoopbackNetwork, type LoopbackNode } from './loopback-network.js';
import { ok, pilotctl, readLines, spawnPilotctl, startPilotctl } from './pilotctl-process.js';

// The worker's stderr pipe is opened lazily, the first time anything writes to it (a warning from a
// child-process or socket path): open it before the leak check's baseline so it is not counted as ours.
void process.stderr;
void process.stdout;

const CLI_CODES = [
  'invalid_argument',
  'not_running',
  'not_found',
  'not_trusted',
  'timeout',
  'connection_failed',
  'unavailable',
  'already_exists',
  'io_error',
  'internal',
];

let net: LoopbackNetwork;
const node = (name: string): LoopbackNode => net.node(name);

beforeAll(async () => {
  net = await LoopbackNetwork.start('pilotctl-e2e-');
  await net.startNode('alpha');
  await net.startNode('beta', ['--public']);
  await net.startNode('gamma');
}, 120_000);

afterAll(() => net?.stop(), 120_000);

describe('pilotctl against real daemons and a real rendezvous', () => {
  it('daemon start gave address, node_id and pid; status and a second start agree', async () => {
    for (const entry of net.nodes) {
      expect(entry.address).toMatch(/^0:0000\.[0-9A-F]{4}\.[0-9A-F]{4}$/);
      expect(entry.nodeId).toBeGreaterThan(0);
      expect(entry.pid).toBeGreaterThan(0);
    }
    const status = await ok(['daemon', 'status'], node('alpha').env);
    expect(status).toMatchObject({ running: true, node_id: node('alpha').nodeId, pid: node('alpha').pid });
    const again = await pilotctl(['daemon', 'start', '--registry', net.registry], node('alpha').env);
    expect(again.status).toBe(1);
    expect(again.error?.code).toBe('already_exists');
  });

  it('info, health, find', async () => {
    const info = await ok(['info'], node('alpha').env);
    expect(info).toMatchObject({
      address: node('alpha').address,
      node_id: node('alpha').nodeId,
      hostname: 'alpha',
    });
    expect((await ok(['health'], node('alpha').env)).status).toBe('ok');
    const found = await ok(['find', 'beta'], node('alpha').env);
    expect(found).toMatchObject({ address: node('beta').address, node_id: node('beta').nodeId });
    const ghost = await pilotctl(['find', 'ghost'], node('alpha').env);
    expect(ghost.status).toBe(1);
    expect(ghost.error?.code).toBe('not_found');
    expect(ghost.error?.message.length).toBeGreaterThan(0);
  });

  it('ping, traceroute and bench over the echo service', async () => {
    const ping = await ok(['ping', 'beta', '--count', '3', '--interval', '50ms'], node('alpha').env);
    expect(ping.replies).toBe(3);
    expect(typeof ping.avg_ms).toBe('number');
    expect(ping.path).toBe('direct');
    const trace = await ok(['traceroute', node('beta').address], node('alpha').env);
    expect((trace.rtt_ms as number[]).length).toBe(3);
    expect(trace.path).toBe('direct');
    const bench = await ok(['bench', 'beta', '1'], node('alpha').env);
    expect(bench.bytes).toBe(1_048_576);
    expect(bench.recv_bytes).toBe(1_048_576);
    expect(bench.seconds).toBeGreaterThan(0);
    expect(bench.mb_per_s).toBeGreaterThan(0);
  });

  it('peers, connections, disconnect', async () => {
    const peers = await ok(['peers'], node('alpha').env);
    expect((peers.peers as Array<{ node_id: number }>).map((p) => p.node_id)).toContain(node('beta').nodeId);
    const connections = await ok(['connections'], node('alpha').env);
    expect(Array.isArray(connections.connections)).toBe(true);
    const missing = await pilotctl(['disconnect', '4000000'], node('alpha').env);
    expect(missing.status).toBe(1);
    expect(missing.error?.code).toBe('not_found');
    const bad = await pilotctl(['disconnect', 'abc'], node('alpha').env);
    expect(bad.status).toBe(2);
  });

  it('connect --message and send to the echo port', async () => {
    const connect = await ok(['connect', 'beta', '7', '--message', 'hello echo'], node('alpha').env);
    expect(connect.response).toBe('hello echo');
    const send = await ok(['send', 'beta', '7', '--data', 'again'], node('alpha').env);
    expect(send).toMatchObject({ sent_bytes: 5, response: 'again' });
  });

  it('connect without --message is an interactive session over stdio', async () => {
    const child = spawnPilotctl(['connect', 'beta', '7'], node('alpha').env);
    const output: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => output.push(chunk));
    child.stdin?.end('typed line\n');
    const [status] = (await once(child, 'close')) as [number];
    expect(status).toBe(0);
    expect(Buffer.concat(output).toString()).toBe('typed line\n');
  });

  it('daemon start reports a daemon that cannot register, with the log', async () => {
    const home = join(net.root, 'broken');
    const run = await pilotctl(
      [
        'daemon',
        'start',
        '--registry',
        '127.0.0.1:1',
        '--socket',
        join(net.root, 'broken.sock'),
        '--start-timeout',
        '8s',
      ],
      { PILOT_HOME: home },
      60_000,
    );
    expect(run.status).toBe(1);
    expect(['internal', 'timeout', 'unavailable']).toContain(run.error?.code);
    expect(run.error?.message).toContain('pilot.log');
  }, 60_000);

  it('daemon start --foreground runs the daemon in the pilotctl process until SIGTERM', async () => {
    const home = join(net.root, 'fg');
    const socket = join(net.root, 'fg.sock');
    const foreground = startPilotctl(
      [
        'daemon',
        'start',
        '--foreground',
        '--registry',
        net.registry,
        '--beacon',
        net.beacon,
        '--listen',
        '127.0.0.1:0',
        '--socket',
        socket,
      ],
      { PILOT_HOME: home },
    );
    try {
      const status = await eventually(async () => {
        const run = await pilotctl(['daemon', 'status'], { PILOT_SOCKET: socket });
        return run.data.running === true ? run.data : undefined;
      });
      expect(status.pid).toBe(foreground.child.pid);
    } finally {
      foreground.child.kill('SIGTERM');
    }
    await foreground.done;
    expect((await ok(['daemon', 'status'], { PILOT_SOCKET: socket })).running).toBe(false);
  }, 60_000);

  it("send-message lands in the peer's inbox", async () => {
    const sent = await ok(
      ['send-message', 'beta', '--data', '{"hello":1}', '--type', 'json'],
      node('alpha').env,
    );
    expect(sent.ack).toMatch(/^ACK JSON/);
    const inbox = await ok(['inbox'], node('beta').env);
    expect(inbox.count).toBeGreaterThanOrEqual(1);
    const bad = await pilotctl(
      ['send-message', 'beta', '--data', 'not json', '--type', 'json'],
      node('alpha').env,
    );
    expect(bad.status).toBe(2);
  });

  it('send-file of 50 MiB arrives with the same sha256', async () => {
    const path = join(net.root, 'big.bin');
    const content = randomBytes(50 * 1_048_576);
    writeFileSync(path, content);
    const expected = createHash('sha256').update(content).digest('hex');
    const sent = await ok(['send-file', 'beta', path], node('alpha').env, 240_000);
    // The daemon reads the file itself (SendFile); --pipe sends it through pilotctl as before.
    expect(sent).toMatchObject({ bytes: content.length, sha256: expected, frames: 4, read_by: 'daemon' });
    const small = join(net.root, 'piped.bin');
    const pipedContent = randomBytes(3 * 1_048_576 + 7);
    writeFileSync(small, pipedContent);
    const piped = await ok(['send-file', 'beta', small, '--pipe'], node('alpha').env, 120_000);
    expect(piped).toMatchObject({
      bytes: pipedContent.length,
      sha256: createHash('sha256').update(pipedContent).digest('hex'),
      read_by: 'pilotctl',
    });
    const received = await ok(['received'], node('beta').env);
    const file = (received.files as Array<{ name: string; path: string; bytes: number }>).find((f) =>
      f.name.startsWith('big'),
    );
    expect(file?.bytes).toBe(content.length);
    expect(
      createHash('sha256')
        .update(readFileSync(file?.path ?? ''))
        .digest('hex'),
    ).toBe(expected);
    const missing = await pilotctl(['send-file', 'beta', join(net.root, 'nope.bin')], node('alpha').env);
    expect(missing.error?.code).toBe('not_found');
  }, 300_000);

  it('subscribe receives what publish sends', async () => {
    const subscriber = startPilotctl(
      ['subscribe', 'beta', 'news', '--count', '1', '--timeout', '60s'],
      node('gamma').env,
    );
    let finished = false;
    void subscriber.done.then(() => {
      finished = true;
    });
    for (let i = 0; i < 40 && !finished; i++) {
      const published = await ok(['publish', 'beta', 'news', '--data', 'extra extra'], node('alpha').env);
      expect(published).toMatchObject({ topic: 'news', bytes: 11 });
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const run = await subscriber.done;
    expect(run.status).toBe(0);
    expect(run.data.events).toEqual([expect.objectContaining({ topic: 'news', data: 'extra extra' })]);
  }, 120_000);

  it('listen receives datagrams that send-datagram sends', async () => {
    const listener = startPilotctl(['listen', '6000', '--count', '1', '--timeout', '60s'], node('beta').env);
    let finished = false;
    void listener.done.then(() => {
      finished = true;
    });
    for (let i = 0; i < 40 && !finished; i++) {
      await ok(['send-datagram', 'beta', '6000', '--data', 'dgram'], node('alpha').env);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const run = await listener.done;
    expect(run.status).toBe(0);
    expect(run.data.datagrams).toEqual([
      expect.objectContaining({ source: node('alpha').address, data: 'dgram', port: 6000 }),
    ]);
  }, 120_000);

  it('recv gets what send writes to a bound port', async () => {
    const receiver = startPilotctl(['recv', '5000', '--count', '1', '--timeout', '60s'], node('beta').env);
    let finished = false;
    void receiver.done.then(() => {
      finished = true;
    });
    for (let i = 0; i < 40 && !finished; i++) {
      await pilotctl(
        ['send', 'beta', '5000', '--data', 'to port 5000', '--timeout', '5s'],
        node('alpha').env,
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const run = await receiver.done;
    expect(run.status).toBe(0);
    expect(run.data.messages).toEqual([
      expect.objectContaining({ from: node('alpha').address, data: 'to port 5000' }),
    ]);
  }, 120_000);

  it('trust: a private node is unreachable until it approves; a refused request; untrust', async () => {
    const alpha = node('alpha');
    const gamma = node('gamma');
    const before = await pilotctl(
      ['ping', gamma.address, '--count', '1', '--timeout', '10s'],
      alpha.env,
      60_000,
    );
    expect(before.status).toBe(1);
    expect(['not_trusted', 'connection_failed', 'timeout', 'not_found']).toContain(before.error?.code);
    const asked = await ok(['handshake', String(gamma.nodeId), 'e2e test'], alpha.env);
    expect(asked).toMatchObject({ status: 'sent', node_id: gamma.nodeId });
    await eventually(async () => {
      const pending = await ok(['pending'], gamma.env);
      return (pending.pending as Array<{ node_id: number }>).some((p) => p.node_id === alpha.nodeId)
        ? true
        : undefined;
    });
    const approved = await ok(['approve', String(alpha.nodeId)], gamma.env);
    expect(approved.node_id).toBe(alpha.nodeId);
    await eventually(async () => {
      const trusted = await ok(['trust'], alpha.env);
      return (trusted.trusted as Array<{ node_id: number }>).some((t) => t.node_id === gamma.nodeId)
        ? true
        : undefined;
    });
    const ping = await ok(['ping', gamma.address, '--count', '1'], alpha.env);
    expect(ping.replies).toBe(1);

    const beta = node('beta');
    await ok(['handshake', gamma.address, 'let me in'], beta.env);
    await eventually(async () => {
      const pending = await ok(['pending'], gamma.env);
      return (pending.pending as Array<{ node_id: number }>).some((p) => p.node_id === beta.nodeId)
        ? true
        : undefined;
    });
    const rejected = await ok(['reject', String(beta.nodeId), 'no thanks'], gamma.env);
    expect(rejected.node_id).toBe(beta.nodeId);
    const pendingAfter = await ok(['pending'], gamma.env);
    expect((pendingAfter.pending as Array<{ node_id: number }>).some((p) => p.node_id === beta.nodeId)).toBe(
      false,
    );

    const revoked = await ok(['untrust', String(alpha.nodeId)], gamma.env);
    expect(revoked.node_id).toBe(alpha.nodeId);
  }, 180_000);

  it('hostname, visibility, tags, webhook, lookup, peers --search', async () => {
    const gamma = node('gamma');
    expect(await ok(['set-hostname', 'gamma-two'], gamma.env)).toEqual({ hostname: 'gamma-two' });
    expect((await ok(['info'], gamma.env)).hostname).toBe('gamma-two');
    expect(await ok(['clear-hostname'], gamma.env)).toEqual({ hostname: '' });
    expect(await ok(['set-public'], gamma.env)).toEqual({ public: true });
    expect(await ok(['set-tags', 'e2e.cap', 'other'], gamma.env)).toEqual({ tags: ['e2e.cap', 'other'] });
    const search = await ok(['peers', '--search', 'e2e.*'], node('alpha').env);
    expect((search.results as Array<{ node_id: number }>).map((r) => r.node_id)).toContain(gamma.nodeId);
    const lookup = await ok(['lookup', String(gamma.nodeId)], node('alpha').env);
    expect(lookup).toMatchObject({ node_id: gamma.nodeId, address: gamma.address, public: true });
    expect(await ok(['clear-tags'], gamma.env)).toEqual({ tags: [] });
    expect(await ok(['set-private'], gamma.env)).toEqual({ public: false });
    expect(await ok(['set-webhook', 'http://127.0.0.1:9/hook'], gamma.env)).toEqual({
      webhook: 'http://127.0.0.1:9/hook',
    });
    expect(await ok(['clear-webhook'], gamma.env)).toEqual({ webhook: '' });
    const badName = await pilotctl(['set-hostname', 'Not_A_Name!'], gamma.env);
    expect(badName.status).not.toBe(0);
    expect(badName.error?.code).toBe('invalid_argument');
    const taken = await pilotctl(['set-hostname', 'beta'], gamma.env);
    expect(taken.error?.code).toBe('already_exists');
    const badHook = await pilotctl(['set-webhook', 'http://169.254.169.254/latest'], gamma.env);
    expect(badHook.status, badHook.stdout).toBe(1);
    expect(CLI_CODES).toContain(badHook.error?.code);
    const badNode = await pilotctl(['approve', 'not a node'], gamma.env);
    expect(badNode.status).toBe(1);
    expect(badNode.error?.code).toBe('invalid_argument');
    const missing = await pilotctl(['lookup', '4000000'], node('alpha').env);
    expect(missing.error?.code).toBe('not_found');
  });

  it('register a fresh identity directly with the registry', async () => {
    const dir = join(net.root, 'loose');
    mkdirSync(dir);
    const path = join(dir, 'identity.json');
    writeFileSync(path, encodeIdentityFile(generateIdentity()), { mode: 0o600 });
    const registered = await ok(
      ['register', '127.0.0.1:4999', '--identity', path, '--registry', net.registry],
      {
        PILOT_HOME: dir,
      },
    );
    expect(registered.node_id).toBeGreaterThan(0);
    expect(String(registered.address)).toMatch(/^0:0000\./);
    const noIdentity = await pilotctl(['register', '--registry', net.registry], {
      PILOT_HOME: join(net.root, 'nobody'),
    });
    expect(noIdentity.error?.code).toBe('not_found');
  });

  it('broadcast to a network this node is not in fails with a code', async () => {
    const run = await pilotctl(['broadcast', '7', 'hi'], node('alpha').env);
    if (run.status !== 0) expect(CLI_CODES).toContain(run.error?.code);
    const backbone = await pilotctl(['broadcast', '0', 'hi'], node('alpha').env);
    expect(backbone.status).toBe(2);
  });

  it('mcp serve and mcp connect carry an MCP session between two nodes', async () => {
    const server = fileURLToPath(new URL('../../mcp/test/fixtures/weather-server.mjs', import.meta.url));
    const serving = startPilotctl(
      ['mcp', 'serve', '--port', '1010', '--', process.execPath, server],
      node('beta').env,
    );
    try {
      const reply = await eventually(
        async () => {
          const client = spawnPilotctl(['mcp', 'connect', 'beta', '--port', '1010'], node('alpha').env);
          const lines = readLines(client);
          client.stdin?.write(
            `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'e2e', version: '1' } } })}\n`,
          );
          // The timer is cleared whichever side wins: left pending, it outlived the file's tests
          // and failed the leak check whenever this was among the last 5 s of the run.
          let timer: NodeJS.Timeout | undefined;
          const first = await Promise.race([
            lines.next(),
            new Promise<undefined>((resolve) => {
              timer = setTimeout(() => resolve(undefined), 5000);
            }),
          ]).finally(() => clearTimeout(timer));
          client.stdin?.end();
          client.kill('SIGTERM');
          await once(client, 'close');
          const text = first === undefined || first.done === true ? undefined : first.value;
          return text === undefined
            ? undefined
            : (JSON.parse(text) as { id: number; result?: { serverInfo?: { name?: string } } });
        },
        'the MCP session',
        60_000,
      );
      expect(reply.id).toBe(1);
      expect(reply.result?.serverInfo?.name).toBe('weather');
    } finally {
      serving.child.kill('SIGINT');
    }
    const served = await serving.done;
    expect(served.status, served.stderr).toBe(0);
    expect(served.data, `${served.stdout}|${served.stderr}`).toMatchObject({ port: 1010 });
    expect(served.data.accepted).toBeGreaterThanOrEqual(1);
  }, 120_000);

  it('deregister, then stop: the socket goes away', async () => {
    const gamma = node('gamma');
    expect(await ok(['deregister'], gamma.env)).toEqual({ deregistered: true });
    const stopped = await ok(['daemon', 'stop'], gamma.env);
    expect(stopped).toMatchObject({ stopped: true, pid: gamma.pid });
    const status = await ok(['daemon', 'status'], gamma.env);
    expect(status.running).toBe(false);
    const info = await pilotctl(['info'], gamma.env);
    expect(info.status).toBe(1);
    expect(info.error?.code).toBe('not_running');
  });
});
