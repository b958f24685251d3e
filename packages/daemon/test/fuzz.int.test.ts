// Malformed input against real daemons: random IPC frames on the Unix socket, and random messages
// on the trust-handshake port 444 from another node. Whatever arrives, the daemon keeps serving,
// counts what it refused, and keeps nothing it should not.
import { connect } from 'node:net';
import { propertyOptions } from '@pilot/testkit';
import { encodeFrame } from '@pilot/wire';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Daemon } from '../src/index.js';
import { address, IpcTestClient, startNode, TestRendezvous, tempDir } from './helpers.js';

const dir = tempDir('pilot-fuzz-');
let rdv: TestRendezvous;
let alpha: Daemon;
let beta: Daemon;
const clients: IpcTestClient[] = [];

beforeAll(async () => {
  rdv = await TestRendezvous.start(dir.path);
  alpha = await startNode(rdv, dir.path, 'alpha');
  // Public, so that a stranger can reach its port 444 at all (a private node's is reached the same
  // way once the registry lets the stranger resolve it).
  beta = await startNode(rdv, dir.path, 'beta', { public: true });
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all([alpha?.close(), beta?.close()]);
  await rdv?.close();
  dir.cleanup();
});

async function client(daemon: Daemon): Promise<IpcTestClient> {
  const c = await IpcTestClient.connect(daemon.socket);
  clients.push(c);
  return c;
}

/** Writes raw bytes on a fresh IPC connection, lets the daemon answer, then hangs up. */
function hitSocket(path: string, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(path, () => {
      socket.write(bytes);
      setTimeout(() => socket.end(), 20);
    });
    socket.on('data', () => undefined);
    socket.on('error', () => resolve());
    socket.on('close', () => resolve());
  });
}

// Every command byte the daemon knows except Deregister (0x17), which would take the node off the
// registry for the rest of the file; the bodies are random, so most are malformed.
const COMMANDS = [
  0x01, 0x03, 0x05, 0x06, 0x08, 0x0b, 0x0d, 0x0f, 0x11, 0x13, 0x15, 0x19, 0x1b, 0x1d, 0x1f, 0x21, 0x23,
];

describe('malformed input', () => {
  it('IPC: random frames, truncated frames and random bytes leave the daemon serving', async () => {
    const watcher = await client(alpha);
    const before = Number((await watcher.json({ type: 'info' })).ipc_garbage ?? 0);
    const frame = fc
      .tuple(
        fc.oneof(fc.constantFrom(...COMMANDS), fc.integer({ min: 0, max: 255 })),
        fc.uint8Array({ maxLength: 48 }),
      )
      .map(([command, body]) => encodeFrame(Uint8Array.of(command, ...body)));
    const input = fc.oneof(
      frame,
      frame.chain((bytes) =>
        fc.integer({ min: 1, max: bytes.length - 1 }).map((cut) => bytes.subarray(0, cut)),
      ),
      fc.uint8Array({ minLength: 1, maxLength: 64 }),
    );
    await fc.assert(
      fc.asyncProperty(input, async (bytes) => {
        await hitSocket(alpha.socket, bytes);
      }),
      propertyOptions(150),
    );
    const info = await watcher.json({ type: 'info' });
    expect(info.node_id).toBe(alpha.nodeId);
    expect(Number(info.ipc_garbage)).toBeGreaterThan(before);
  });

  it('port 444: random payloads and ill-typed handshake messages are refused, nothing is kept', async () => {
    const a = await client(alpha);
    const message = fc.oneof(
      fc.uint8Array({ maxLength: 256 }),
      fc
        .record(
          {
            type: fc.oneof(
              fc.constantFrom(
                'handshake_request',
                'handshake_accept',
                'handshake_reject',
                'handshake_revoke',
              ),
              fc.string(),
            ),
            node_id: fc.oneof(fc.constant(alpha.nodeId), fc.integer(), fc.string()),
            timestamp: fc.oneof(fc.constant(Math.floor(Date.now() / 1000)), fc.double(), fc.string()),
            justification: fc.anything(),
            reason: fc.anything(),
            public_key: fc.oneof(fc.string(), fc.anything()),
            signature: fc.oneof(fc.base64String(), fc.anything()),
          },
          { requiredKeys: [] },
        )
        .map((record) => new TextEncoder().encode(JSON.stringify(record))),
    );
    await fc.assert(
      fc.asyncProperty(message, async (bytes) => {
        const dialed = await a.request({ type: 'dial', address: address(beta), port: 444 });
        if (dialed.type !== 'dialOk') throw new Error(`dial to 444 failed: ${JSON.stringify(dialed)}`);
        if (bytes.length > 0) a.send({ type: 'send', connId: dialed.connId, data: bytes });
        await a.request({ type: 'close', connId: dialed.connId });
      }),
      propertyOptions(40),
    );
    const b = await client(beta);
    const info = await b.json({ type: 'info' });
    expect(info.node_id).toBe(beta.nodeId);
    expect(Number(info.handshake_refused)).toBeGreaterThan(0);
    const pending = await b.json({ type: 'handshake', request: { action: 'pending' } });
    expect(pending.pending).toEqual([]);
    const trusted = await b.json({ type: 'handshake', request: { action: 'trusted' } });
    expect(trusted.trusted).toEqual([]);
  });
});
