// Data exchange (port 1001) under the per-node budgets: files open on one stream, files and bytes
// one node may make us write across all its streams; another node is still served.
import { DataExchangeType, encodeFilePayload, encodeServiceFrame, ServiceFrameDecoder } from '@pilot/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExchangeQuota } from '../src/exchange-quota.js';
import type { Daemon } from '../src/index.js';
import { address, IpcTestClient, startNode, TestRendezvous, tempDir } from './helpers.js';

void process.stderr;

const dir = tempDir('pilot-daemon-quota-');
let rdv: TestRendezvous;
let host: Daemon;
let sender: Daemon;
let other: Daemon;
const clients: IpcTestClient[] = [];

beforeAll(async () => {
  rdv = await TestRendezvous.start(dir.path);
  host = await startNode(rdv, dir.path, 'host', {
    public: true,
    budgets: {
      'exchange-files-per-stream': 2,
      'exchange-files-per-peer': 3,
      'exchange-bytes-per-peer': 100_000,
    },
  });
  sender = await startNode(rdv, dir.path, 'sender');
  other = await startNode(rdv, dir.path, 'other');
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all([host, sender, other].map((d) => d?.close()));
  await rdv?.close();
  dir.cleanup();
});

async function exchange(from: Daemon, frames: Uint8Array[]): Promise<string[]> {
  const c = await IpcTestClient.connect(from.socket);
  clients.push(c);
  const dial = await c.request({ type: 'dial', address: address(host), port: 1001 });
  if (dial.type !== 'dialOk') throw new Error(`dial failed: ${JSON.stringify(dial)}`);
  c.send({ type: 'send', connId: dial.connId, data: Buffer.concat(frames) });
  const decoder = new ServiceFrameDecoder();
  const answers: string[] = [];
  while (answers.length < frames.length) {
    const m = await c.next((x) => x.type === 'recv' && x.connId === dial.connId, 30_000);
    if (m.type === 'recv')
      for (const f of decoder.push(m.data)) answers.push(new TextDecoder().decode(f.payload));
  }
  await c.request({ type: 'close', connId: dial.connId });
  return answers;
}

const file = (name: string, size: number): Uint8Array =>
  encodeServiceFrame({
    type: DataExchangeType.FILE,
    payload: encodeFilePayload({ name, data: new Uint8Array(size) }),
  });
const text = (size: number): Uint8Array =>
  encodeServiceFrame({ type: DataExchangeType.TEXT, payload: new Uint8Array(size).fill(0x61) });

describe('data-exchange budgets', () => {
  it('caps files per stream, files and bytes per node across its streams, and serves another node', async () => {
    expect(await exchange(sender, [file('a', 10), file('b', 10), file('c', 10)])).toEqual([
      'ACK FILE 10 bytes',
      'ACK FILE 10 bytes',
      'ERR budget: 2 files open on this stream',
    ]);
    // A second stream of the same node shares its quota: one more file, then none.
    expect(await exchange(sender, [file('d', 10), file('e', 10), text(99_990), text(1000)])).toEqual([
      'ACK FILE 10 bytes',
      'ERR budget: files received from this node',
      'ERR budget: bytes received from this node',
      'ACK TEXT 1000 bytes',
    ]);
    // Everyone else is still served.
    expect(await exchange(other, [text(99_000)])).toEqual(['ACK TEXT 99000 bytes']);
    const c = await IpcTestClient.connect(host.socket);
    clients.push(c);
    const info = await c.json({ type: 'info' });
    expect((info.budgets as { refused: Record<string, number> }).refused).toMatchObject({
      exchange_files_per_stream: 1,
      exchange_files_per_peer: 1,
      exchange_bytes_per_peer: 1,
    });
  });

  it('starts a node’s counts again after the window', () => {
    let now = 0;
    const quota = new ExchangeQuota({ filesPerPeer: 1, bytesPerPeer: 10, windowMs: 1000, now: () => now });
    expect(quota.file(7)).toBe(true);
    expect(quota.file(7)).toBe(false);
    expect(quota.bytes(7, 11)).toBe(false);
    expect(quota.bytes(8, 10)).toBe(true);
    now += 1000;
    expect(quota.file(7)).toBe(true);
    expect(quota.usage(7)).toEqual({ files: 1, bytes: 0 });
    expect(quota.refusals).toEqual({ files: 1, bytes: 1 });
  });
});
