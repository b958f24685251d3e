// The daemon's opt-in /metrics: two real daemons and a rendezvous; a tunnel and an echo between
// them; both endpoints read back with the strict Prometheus text parser of @pilot/metrics.
import { parsePrometheusText, sampleValue } from '@pilot/metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Driver } from '../src/driver/index.js';
import type { Daemon } from '../src/index.js';
import { startNode, TestRendezvous, tempDir } from './helpers.js';

const dir = tempDir('pilot-daemon-metrics-');
let rdv: TestRendezvous;
const daemons: Daemon[] = [];
const drivers: Driver[] = [];

beforeAll(async () => {
  rdv = await TestRendezvous.start(dir.path);
});
afterAll(async () => {
  await Promise.all(drivers.map((driver) => driver.close()));
  await Promise.all(daemons.map((daemon) => daemon.close()));
  await rdv.close();
  dir.cleanup();
});

async function scrape(daemon: Daemon): Promise<ReturnType<typeof parsePrometheusText>> {
  const response = await fetch(`http://${daemon.metrics}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parsePrometheusText(await response.text());
}

describe('daemon /metrics', () => {
  it('is off by default, and when asked serves tunnels, bytes per peer and tunnel counters on loopback', async () => {
    const off = await startNode(rdv, dir.path, 'm-off');
    daemons.push(off);
    expect(off.metrics).toBeUndefined();

    const a = await startNode(rdv, dir.path, 'm-a', { metrics: ':0' });
    const b = await startNode(rdv, dir.path, 'm-b', { metrics: '127.0.0.1:0', public: true });
    daemons.push(a, b);
    expect(a.metrics).toMatch(/^127\.0\.0\.1:\d+$/);
    const driver = await Driver.connect(a.socket);
    drivers.push(driver);
    const echo = await driver.dial(String(b.nodeId), 7, { timeoutMs: 10_000 });
    const back = new Promise<string>((resolve) =>
      echo.once('data', (chunk: Buffer) => resolve(chunk.toString())),
    );
    echo.write('metrics');
    expect(await back).toBe('metrics');

    const ma = await scrape(a);
    expect(sampleValue(ma, 'pilot_daemon_tunnels', { path: 'direct' })).toBe(1);
    expect(sampleValue(ma, 'pilot_daemon_tunnels', { path: 'relay' })).toBe(0);
    expect(sampleValue(ma, 'pilot_daemon_peer_sent_bytes_total', { peer: String(b.nodeId) })).toBeGreaterThan(
      0,
    );
    expect(
      sampleValue(ma, 'pilot_daemon_peer_received_bytes_total', { peer: String(b.nodeId) }),
    ).toBeGreaterThan(0);
    expect(sampleValue(ma, 'pilot_daemon_registry_up')).toBe(1);
    expect(sampleValue(ma, 'pilot_daemon_dials_total', { result: 'ok' })).toBe(1);
    expect(sampleValue(ma, 'pilot_daemon_connections')).toBeGreaterThanOrEqual(1);
    expect(ma.get('pilot_daemon_tunnel_events_total')?.samples.length).toBeGreaterThan(0);
    expect(ma.get('pilot_daemon_transport_total')?.type).toBe('counter');
    const mb = await scrape(b);
    expect(
      sampleValue(mb, 'pilot_daemon_peer_received_bytes_total', { peer: String(a.nodeId) }),
    ).toBeGreaterThan(0);
    echo.end();
  });
});
