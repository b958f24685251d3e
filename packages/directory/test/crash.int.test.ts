import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createSigner, DirectoryClient, SqliteDirectoryStore, toBase64 } from '../src/index.js';

import './tcp-helpers.js';

const SERVER = fileURLToPath(new URL('./fixtures/crash-server.mjs', import.meta.url));
const children: ChildProcess[] = [];
const clients: DirectoryClient[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function startServer(db: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [SERVER, db], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /PORT (\d+)/.exec(out);
      if (match !== null) resolve({ child, port: Number(match[1]) });
    });
    child.once('exit', (code) => reject(new Error(`server exited early (${code})`)));
  });
}

describe('durability', () => {
  it('keeps every acknowledged registration across kill -9 at a random moment', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pilot-dir-crash-'));
    dirs.push(dir);
    const db = join(dir, 'directory.db');
    const first = await startServer(db);
    const acked = new Map<number, string>();
    let stop = false;
    const writers = Array.from({ length: 8 }, async () => {
      const client = await DirectoryClient.connect({
        host: '127.0.0.1',
        port: first.port,
        reconnectAttempts: 1,
      });
      clients.push(client);
      while (!stop) {
        const signer = createSigner();
        try {
          const { nodeId } = await client.register(signer, { listenAddr: ':4000' });
          acked.set(nodeId, toBase64(signer.publicKey));
        } catch {
          return; // the server died: this registration was never acknowledged
        }
      }
    });
    // A random moment, after the stream is well under way.
    await new Promise((resolve) => setTimeout(resolve, 300 + Math.floor(Math.random() * 700)));
    const exited = new Promise((resolve) => first.child.once('exit', resolve));
    first.child.kill('SIGKILL');
    await exited;
    stop = true;
    await Promise.all(writers);
    for (const client of clients.splice(0)) client.close();
    expect(acked.size).toBeGreaterThan(50);

    const second = await startServer(db);
    const client = await DirectoryClient.connect({ host: '127.0.0.1', port: second.port });
    clients.push(client);
    let missing = 0;
    for (const [nodeId, key] of acked) {
      const info = await client.lookup(nodeId).catch(() => undefined);
      if (info?.publicKey !== key) missing += 1;
    }
    expect(missing).toBe(0);
    client.close();
    second.child.kill('SIGKILL');
    await new Promise((resolve) => second.child.once('exit', resolve));
    const store = new SqliteDirectoryStore({ path: db });
    expect(store.db.pragma('integrity_check', { simple: true })).toBe('ok');
    store.close();
  });
});
