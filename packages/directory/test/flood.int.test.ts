import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const FLOOD = fileURLToPath(new URL('../bench/flood.mjs', import.meta.url));

type FloodResult = {
  rssBeforeMiB: number;
  rssPeakMiB: number;
  rssEndMiB: number;
  heartbeats: number;
  heartbeatFailures: number;
  p50ms: number;
  p99ms: number;
  attack: { opened: number; registered: number; created: number };
  server: {
    acceptThrottled: number;
    connectRateRefused: number;
    registerHangups: number;
    loopDelayP99Ms: number;
    frameTimeouts: number;
    bufferBudgetCloses: number;
    registerLimited: number;
    networkCreateLimited: number;
    bufferedBytes: number;
  };
};

// Issue 15, scenario 5, at CI size: a registry server process with the default budgets, an attacker
// process (2,000 slow connections from 32 loopback addresses, each holding 16 KiB of a 1 MiB frame;
// 4,000 unsigned registrations from one address; 200 network creations by one node) and a real node
// sending signed heartbeats throughout. The full size (10,000 connections, before and after) is
// `pnpm bench` (bench/flood.mjs), whose figures are in SECURITY.md.
describe('registry under flood (real processes)', () => {
  it('drops what is over budget, keeps its memory bounded, and keeps answering a real node', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [FLOOD, '--json'], {
      env: {
        ...process.env,
        PILOT_FLOOD_MODES: 'after',
        PILOT_FLOOD_SLOW: '2000',
        PILOT_FLOOD_HELD: '16384',
        PILOT_FLOOD_REGISTERS: '4000',
        PILOT_FLOOD_NETWORKS: '200',
        PILOT_FLOOD_SECONDS: '12',
        PILOT_FLOOD_DRAIN: '1',
      },
      maxBuffer: 1 << 20,
    });
    const result = (JSON.parse(stdout) as { results: FloodResult[] }).results[0]!;
    // Every slow connection was let in (32 addresses × 64) and cut off by the frame deadline (10 s),
    // or closed unread at accept (over the accept rate, 1,000/s after a burst of 2,000).
    expect(result.attack.opened).toBe(2000);
    const { frameTimeouts, bufferBudgetCloses, acceptThrottled } = result.server;
    expect(frameTimeouts + bufferBudgetCloses).toBeLessThanOrEqual(2000);
    expect(frameTimeouts + bufferBudgetCloses + acceptThrottled).toBeGreaterThanOrEqual(2000);
    expect(result.server.bufferedBytes).toBe(0);
    // Registrations from one address: the burst of 1,000 and 10 a second after it; a connection
    // refused 16 times is hung up on (the attacker reconnects, under the connect rate per IP).
    expect(result.attack.registered).toBeLessThanOrEqual(1000 + 10 * 20);
    expect(result.server.registerLimited).toBeGreaterThan(0);
    expect(result.server.registerHangups).toBeGreaterThan(0);
    // Network IDs: 10 for one node, then 10 an hour.
    expect(result.attack.created).toBeLessThanOrEqual(11);
    // Memory: 2,000 × 16 KiB is 31 MiB of partial frames; the process stays well under 128 MiB more.
    expect(result.rssPeakMiB - result.rssBeforeMiB).toBeLessThan(128);
    // The real node is answered throughout (the 50 ms p99 target is the bench's, on a quiet machine).
    expect(result.heartbeatFailures).toBe(0);
    expect(result.heartbeats).toBeGreaterThan(100);
    expect(result.p99ms).toBeLessThan(500);
  }, 150_000);
});
