import type { Socket } from 'node:dgram';
import { seededRandom } from '@pilot/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { birthdayProbeEasy, birthdayPunchHard, PUNCH_FRAME } from '../src/index.js';
import { addressOf, closeAll, send, udp } from './helpers.js';

let sockets: Socket[] = [];
afterEach(async () => {
  await closeAll(sockets);
  sockets = [];
});

describe('birthday probing on loopback (mechanics; the NAT lab proves it through a symmetric NAT)', () => {
  it('the easy side probes distinct ports at a bounded rate and stops at the first answer', async () => {
    const easy = await udp();
    const hard = await udp();
    sockets.push(easy, hard);
    const probed = new Set<number>();
    hard.on('message', (_message, from) => {
      probed.add(from.port);
      hard.send(PUNCH_FRAME, from.port, from.address);
    });
    const port = addressOf(hard).port;
    const random = seededRandom(7);
    const result = await birthdayProbeEasy(easy, '127.0.0.1', {
      portRange: [Math.max(1024, port - 40), Math.min(65_535, port + 40)],
      probesPerSecond: 2000,
      random: () => random.next(),
      timeoutMs: 3000,
    });
    expect(result.address).toEqual(addressOf(hard));
    expect(result.probes).toBeLessThanOrEqual(81);
    // ~2000/s: 81 probes take at least ~30 ms.
    expect(result.elapsedMs).toBeGreaterThan(5);
  });

  it('gives up after maxProbes with NAT_TIMEOUT', async () => {
    const easy = await udp();
    sockets.push(easy);
    await expect(
      birthdayProbeEasy(easy, '127.0.0.2', { portRange: [40_000, 40_009], timeoutMs: 200 }),
    ).rejects.toMatchObject({ code: 'NAT_TIMEOUT' });
  });

  it('the hard side opens its sockets, keeps the one that was reached, and closes the rest', async () => {
    const easy = await udp();
    sockets.push(easy);
    let answered = false;
    easy.on('message', (_message, from) => {
      if (answered) return;
      answered = true;
      void send(easy, PUNCH_FRAME, { address: from.address, port: from.port });
    });
    const result = await birthdayPunchHard(addressOf(easy), { sockets: 16, timeoutMs: 2000 });
    sockets.push(result.socket);
    expect(result.socketsOpened).toBe(16);
    expect(result.address).toEqual(addressOf(easy));
    expect(addressOf(result.socket).port).toBeGreaterThan(0);
  });

  it('the hard side stops opening sockets as soon as its signal aborts (a plain punch won)', async () => {
    const easy = await udp();
    sockets.push(easy);
    const abort = new AbortController();
    const attempt = birthdayPunchHard(addressOf(easy), {
      sockets: 4096,
      signal: abort.signal,
      timeoutMs: 5000,
    });
    abort.abort();
    await expect(attempt).rejects.toMatchObject({ code: 'NAT_ABORTED' });
    // Every socket it opened is closed again: the leak check of this file would see one left over.
  });

  it('refuses a bad port range', () => {
    return udp().then((s) => {
      sockets.push(s);
      expect(() => birthdayProbeEasy(s, '127.0.0.1', { portRange: [0, 10] })).toThrowError(
        expect.objectContaining({ code: 'NAT_OUT_OF_RANGE' }),
      );
    });
  });
});
