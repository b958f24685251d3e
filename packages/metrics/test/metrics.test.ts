import { request } from 'node:http';
import { isPilotError } from '@pilot/wire';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MetricsErrorCode,
  MetricsRegistry,
  PROMETHEUS_CONTENT_TYPE,
  parsePrometheusText,
  sampleValue,
  startMetricsServer,
} from '../src/index.js';

function get(
  port: number,
  path: string,
  token?: string,
): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }),
        );
      },
    );
    req.once('error', reject);
    req.end();
  });
}

describe('MetricsRegistry', () => {
  it('renders counters, gauges and histograms that the parser reads back', () => {
    const registry = new MetricsRegistry();
    const requests = registry.counter('pilot_requests_total', 'Requests by type.\nSecond line \\ here.');
    const online = registry.gauge('pilot_nodes_online', 'Nodes online.');
    const latency = registry.histogram('pilot_latency_seconds', 'Latency.', [0.001, 0.01, 0.1]);
    let collected = 0;
    registry.collect(() => online.set(++collected));
    requests.inc({ type: 'lookup' });
    requests.inc({ type: 'lookup' }, 2);
    requests.inc({ type: 'say "hi"\n\\' });
    latency.observe(0.0005, { op: 'lookup' });
    latency.observe(0.05, { op: 'lookup' });
    latency.observe(5, { op: 'lookup' });
    const text = registry.render();
    expect(text).toContain('# TYPE pilot_latency_seconds histogram');
    expect(text).toContain('pilot_latency_seconds_bucket{op="lookup",le="+Inf"} 3');
    const parsed = parsePrometheusText(text);
    expect(parsed.get('pilot_requests_total')?.help).toBe('Requests by type.\nSecond line \\ here.');
    expect(sampleValue(parsed, 'pilot_requests_total', { type: 'lookup' })).toBe(3);
    expect(sampleValue(parsed, 'pilot_requests_total', { type: 'say "hi"\n\\' })).toBe(1);
    expect(sampleValue(parsed, 'pilot_nodes_online')).toBe(1);
    expect(sampleValue(parsed, 'pilot_latency_seconds_bucket', { op: 'lookup', le: '0.01' })).toBe(1);
    expect(sampleValue(parsed, 'pilot_latency_seconds_bucket', { op: 'lookup', le: '0.1' })).toBe(2);
    expect(sampleValue(parsed, 'pilot_latency_seconds_count', { op: 'lookup' })).toBe(3);
    expect(sampleValue(parsed, 'pilot_latency_seconds_sum', { op: 'lookup' })).toBeCloseTo(5.0505);
    expect(parsed.get('pilot_latency_seconds')?.samples).toHaveLength(6);
    expect(sampleValue(parsePrometheusText(registry.render()), 'pilot_nodes_online')).toBe(2);
  });

  it('refuses bad metric and label names and a second registration', () => {
    const registry = new MetricsRegistry();
    expect(() => registry.counter('1bad', 'x')).toThrow(
      expect.objectContaining({ code: MetricsErrorCode.BAD_NAME }),
    );
    registry.counter('ok_total', 'x');
    expect(() => registry.gauge('ok_total', 'x')).toThrow(
      expect.objectContaining({ code: MetricsErrorCode.BAD_NAME }),
    );
    const counter = registry.counter('c_total', 'x');
    expect(() => counter.inc({ 'bad-label': 'x' })).toThrow(
      expect.objectContaining({ code: MetricsErrorCode.BAD_NAME }),
    );
    expect(() => counter.inc({ le: 'x' })).toThrow(
      expect.objectContaining({ code: MetricsErrorCode.BAD_NAME }),
    );
  });

  it('round-trips any label value and any finite value (property)', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.string(),
        fc.double({ noNaN: true }),
        fc.nat(),
        (help, label, gaugeValue, count) => {
          const registry = new MetricsRegistry();
          registry.gauge('g', help).set(gaugeValue, { l: label });
          registry.counter('c_total', help).inc({}, count);
          const parsed = parsePrometheusText(registry.render());
          expect(parsed.get('g')?.help).toBe(help);
          expect(sampleValue(parsed, 'g', { l: label })).toBe(gaugeValue === 0 ? 0 : gaugeValue);
          expect(sampleValue(parsed, 'c_total')).toBe(count);
        },
      ),
    );
  });
});

describe('parsePrometheusText', () => {
  const hostile: [string, string][] = [
    ['a sample without a value', 'm\n'],
    ['a value that is not a number', 'm 12x\n'],
    ['a bad metric name', '# TYPE 9m counter\n'],
    ['an unknown type', '# TYPE m countr\n'],
    ['TYPE after samples', 'm 1\n# TYPE m counter\n'],
    ['a second TYPE', '# TYPE m counter\n# TYPE m counter\n'],
    ['an unterminated label', 'm{a="x} 1\n'],
    ['a bad escape', 'm{a="\\x"} 1\n'],
    ['a duplicated sample', 'm{a="1"} 1\nm{a="1"} 2\n'],
    ['a label given twice', 'm{a="1",a="2"} 1\n'],
    ['a histogram without +Inf', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_count 1\n'],
    ['a histogram whose count is not +Inf', '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_count 3\n'],
    ['decreasing buckets', '# TYPE h histogram\nh_bucket{le="1"} 3\nh_bucket{le="+Inf"} 2\n'],
    ['a fractional timestamp', 'm 1 1.5\n'],
    ['three fields', 'm 1 2 3\n'],
  ];
  it.each(hostile)('refuses %s', (_what, text) => {
    let error: unknown;
    try {
      parsePrometheusText(text);
    } catch (caught) {
      error = caught;
    }
    expect(isPilotError(error, MetricsErrorCode.BAD_TEXT)).toBe(true);
  });

  it('reads comments, special values, timestamps and untyped samples', () => {
    const parsed = parsePrometheusText('# a comment\nm_total{a="1",} +Inf 1700000000000\nu NaN\nn -Inf\n\n');
    expect(sampleValue(parsed, 'm_total', { a: '1' })).toBe(Number.POSITIVE_INFINITY);
    expect(parsed.get('m_total')?.samples[0]?.timestamp).toBe(1_700_000_000_000);
    expect(sampleValue(parsed, 'u')).toBeNaN();
    expect(parsed.get('n')?.type).toBe('untyped');
  });

  it('never throws anything but METRICS_BAD_TEXT on arbitrary input (property)', () => {
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.constantFrom(
            'm',
            '{',
            '}',
            '"',
            '\\',
            ' ',
            '\n',
            '#',
            '=',
            ',',
            '1',
            'e',
            'TYPE',
            'HELP',
            'le',
          ),
        }),
        (text) => {
          try {
            parsePrometheusText(text);
          } catch (error) {
            expect(isPilotError(error, MetricsErrorCode.BAD_TEXT)).toBe(true);
          }
        },
      ),
    );
  });
});

describe('startMetricsServer', () => {
  it('serves /metrics, 404 elsewhere, and asks for the token when one is set', async () => {
    const registry = new MetricsRegistry();
    registry.counter('x_total', 'x').inc();
    const open = await startMetricsServer({ registry, port: 0 });
    const reply = await get(open.port, '/metrics');
    expect(reply.status).toBe(200);
    expect(reply.type).toBe(PROMETHEUS_CONTENT_TYPE);
    expect(sampleValue(parsePrometheusText(reply.body), 'x_total')).toBe(1);
    expect((await get(open.port, '/other')).status).toBe(404);
    await open.close();
    const guarded = await startMetricsServer({ registry, port: 0, token: 'secret-token' });
    expect((await get(guarded.port, '/metrics')).status).toBe(401);
    expect((await get(guarded.port, '/metrics', 'wrong-token!')).status).toBe(401);
    expect((await get(guarded.port, '/metrics', 'secret-token')).status).toBe(200);
    await guarded.close();
  });
});
