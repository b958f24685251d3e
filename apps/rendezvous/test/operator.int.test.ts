// The operator's pages of a live rendezvous: /metrics read by a strict Prometheus text parser, the
// dashboard's data, and the admin token off loopback.
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSigner, DirectoryClient } from '@pilot/directory/client';
import { parsePrometheusText, sampleValue } from '@pilot/metrics';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { exited, killAll, type Program, startProgram } from './program.js';

const dir = mkdtempSync(join(tmpdir(), 'rdv-operator-'));
const children: Program[] = [];
const clients: DirectoryClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
  killAll(children);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function hostPort(value: unknown): { host: string; port: number } {
  const text = String(value);
  const colon = text.lastIndexOf(':');
  return { host: text.slice(0, colon), port: Number(text.slice(colon + 1)) };
}

function get(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.once('error', reject);
    req.end();
  });
}

describe('pilot-rendezvous operator pages', () => {
  it('serves /metrics in Prometheus text format and the dashboard data on loopback', async () => {
    const started = await startProgram(
      [
        '--registry-addr',
        '127.0.0.1:0',
        '--beacon-addr',
        '127.0.0.1:0',
        '--http',
        '127.0.0.1:0',
        '--tls=false',
        '--store',
        join(dir, 'a.db'),
      ],
      children,
    );
    const http = hostPort(started.announce.http).port;
    const registry = hostPort(started.announce.registry);
    const client = await DirectoryClient.connect({ host: registry.host, port: registry.port });
    clients.push(client);
    const alice = createSigner();
    const { nodeId } = await client.register(alice, { listenAddr: '127.0.0.1:4000', hostname: 'alice' });
    await client.setTags(alice, nodeId, ['weather.metar']);
    await client.lookup(nodeId);
    await expect(client.lookup(999)).rejects.toThrow();

    const metrics = await get(http, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const parsed = parsePrometheusText(metrics.body);
    expect(sampleValue(parsed, 'pilot_registry_nodes_online')).toBe(1);
    // (The client may register twice: once to learn the registry's extensions.)
    const registrations = sampleValue(parsed, 'pilot_registry_registrations_total') ?? 0;
    expect(registrations).toBeGreaterThanOrEqual(1);
    expect(sampleValue(parsed, 'pilot_registry_requests_total', { type: 'register', result: 'ok' })).toBe(
      registrations,
    );
    expect(sampleValue(parsed, 'pilot_registry_requests_total', { type: 'lookup', result: 'ok' })).toBe(1);
    expect(sampleValue(parsed, 'pilot_registry_requests_total', { type: 'lookup', result: 'error' })).toBe(1);
    expect(sampleValue(parsed, 'pilot_registry_errors_total', { code: 'DIR_NOT_FOUND' })).toBe(1);
    expect(sampleValue(parsed, 'pilot_registry_request_duration_seconds_count', { type: 'lookup' })).toBe(2);
    expect(parsed.get('pilot_registry_request_duration_seconds')?.type).toBe('histogram');
    expect(sampleValue(parsed, 'pilot_registry_connections')).toBe(1);
    expect(parsed.get('pilot_registry_budget_refusals_total')?.samples.length).toBeGreaterThan(0);
    expect(parsed.get('pilot_registry_buffered_bytes')?.type).toBe('gauge');
    expect(sampleValue(parsed, 'pilot_beacon_relay_bytes_total')).toBe(0);
    expect(sampleValue(parsed, 'pilot_beacon_dropped_total', { reason: 'rate_limited' })).toBe(0);
    expect(parsed.get('pilot_beacon_nodes')?.type).toBe('gauge');

    const stats = JSON.parse((await get(http, '/api/stats')).body) as Record<string, unknown>;
    expect(stats).toMatchObject({
      store: 'sqlite',
      online: 1,
      tags: [{ tag: 'weather.metar', nodes: 1 }],
      mappings: { public: 1, translated: 0, unknown: 0 },
      nodes: [{ nodeId, hostname: 'alice', public: false, tags: ['weather.metar'] }],
    });
    expect((stats.events as { kind: string }[]).map((e) => e.kind)).toContain('registered');
    const page = await get(http, '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).toContain('Nodes online');
    expect((await get(http, '/healthz')).status).toBe(200);
    started.child.kill('SIGTERM');
    expect(await exited(started.child)).toBe(0);
  });

  it('asks for the admin token off loopback, and refuses without one configured', async () => {
    const args = (extra: string[], store: string) => [
      '--registry-addr',
      '127.0.0.1:0',
      '--beacon-addr',
      '127.0.0.1:0',
      '--http',
      '0.0.0.0:0',
      '--tls=false',
      '--store',
      join(dir, store),
      ...extra,
    ];
    const guarded = await startProgram(args(['--admin-token', 'operator-secret'], 'b.db'), children);
    const port = hostPort(guarded.announce.http).port;
    expect((await get(port, '/metrics')).status).toBe(401);
    expect((await get(port, '/')).status).toBe(401);
    expect((await get(port, '/metrics', { authorization: 'Bearer wrong-secret' })).status).toBe(401);
    expect((await get(port, '/metrics', { authorization: 'Bearer operator-secret' })).status).toBe(200);
    const page = await get(port, '/?token=operator-secret');
    expect(page.status).toBe(200);
    const cookie = String((page.headers['set-cookie'] as string[])[0]).split(';')[0]!;
    expect((await get(port, '/api/stats', { cookie })).status).toBe(200);
    // /healthz stays open for supervisors.
    expect((await get(port, '/healthz')).status).toBe(200);

    const open = await startProgram(args([], 'c.db'), children);
    expect((await get(hostPort(open.announce.http).port, '/metrics')).status).toBe(403);
  });
});
