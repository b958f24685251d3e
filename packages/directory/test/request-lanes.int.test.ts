// Lookups caused by strangers wait in their own lane: a real registry over TCP, a client with a
// backlog of background lookups, and its own heartbeat-like requests going ahead of all of them.
import { isPilotError } from '@pilot/wire';
import { afterEach, describe, expect, it } from 'vitest';
import { createSigner, DirErrorCode, DirectoryClient, RequestLanes } from '../src/index.js';
import { type RunningServer, runServer } from './tcp-helpers.js';

let running: RunningServer | undefined;
const clients: DirectoryClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await running?.close();
  running = undefined;
});

describe('request lanes', () => {
  it('runs every waiting own request before any background one, one at a time', async () => {
    const lanes = new RequestLanes({ maxBackground: 10 });
    const order: string[] = [];
    let active = 0;
    const task = (name: string) => async () => {
      active++;
      expect(active).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 2));
      order.push(name);
      active--;
      return name;
    };
    const all = [
      lanes.run('background', task('b1')),
      lanes.run('background', task('b2')),
      lanes.run('own', task('o1')),
      lanes.run('background', task('b3')),
      lanes.run('own', task('o2')),
    ];
    await Promise.all(all);
    // b1 was already on the wire when the own ones came; they go before b2 and b3.
    expect(order).toEqual(['b1', 'o1', 'o2', 'b2', 'b3']);
  });

  it('refuses background requests over the cap and expires those that waited too long', async () => {
    const lanes = new RequestLanes({ maxBackground: 2 });
    let release: () => void = () => {};
    const blocker = lanes.run(
      'own',
      () =>
        new Promise<void>((resolve) => {
          release = resolve;
        }),
    );
    const late = lanes.run('background', async () => 'sent', 5);
    const kept = lanes.run('background', async () => 'sent');
    await expect(lanes.run('background', async () => 'sent')).rejects.toMatchObject({
      code: DirErrorCode.RATE_LIMITED,
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    release();
    await blocker;
    await expect(late).rejects.toMatchObject({ code: DirErrorCode.TIMEOUT });
    await expect(kept).resolves.toBe('sent');
    expect(lanes.backgroundRefused).toBe(1);
    expect(lanes.backgroundExpired).toBe(1);
  });

  it('a real registry: a heartbeat queued behind 60 background lookups is answered before them', async () => {
    running = await runServer();
    const client = await DirectoryClient.connect({
      host: '127.0.0.1',
      port: running.server.port,
      maxBackgroundRequests: 100,
    });
    clients.push(client);
    const signer = createSigner();
    const { nodeId } = await client.register(signer, {});
    const done: string[] = [];
    const lookups = Array.from({ length: 60 }, (_, i) =>
      client.lookup(0x7000_0000 + i, { lane: 'background' }).then(
        () => done.push('lookup'),
        (error: unknown) => {
          expect(isPilotError(error, DirErrorCode.NOT_FOUND)).toBe(true);
          done.push('lookup');
        },
      ),
    );
    expect(client.queue.background).toBeGreaterThan(50);
    const heartbeat = client.heartbeat(signer, nodeId).then(() => done.push('heartbeat'));
    await Promise.all([heartbeat, ...lookups]);
    // At most the lookup already on the wire went first.
    expect(done.indexOf('heartbeat')).toBeLessThanOrEqual(1);
    expect(done).toHaveLength(61);
  });
});
