import { MetricsErrorCode, metricsError } from './errors.js';
import { escapeHelp, formatLabels, formatValue, LABEL_NAME, type Labels, METRIC_NAME } from './exposition.js';

export type MetricType = 'counter' | 'gauge' | 'histogram';

/** Default latency buckets, in seconds: 100 µs to 10 s. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

function labelKey(labels: Labels): string {
  return JSON.stringify(Object.entries(labels));
}

function checkLabels(labels: Labels): void {
  for (const key of Object.keys(labels)) {
    if (!LABEL_NAME.test(key) || key.startsWith('__') || key === 'le')
      throw metricsError(MetricsErrorCode.BAD_NAME, `invalid label name "${key}"`);
  }
}

/** A monotonically increasing count, per label set. */
export class Counter {
  readonly #values = new Map<string, { labels: Labels; value: number }>();

  inc(labels: Labels = {}, by = 1): void {
    if (!(by >= 0)) return;
    const key = labelKey(labels);
    const entry = this.#values.get(key);
    if (entry !== undefined) entry.value += by;
    else {
      checkLabels(labels);
      this.#values.set(key, { labels, value: by });
    }
  }

  get(labels: Labels = {}): number {
    return this.#values.get(labelKey(labels))?.value ?? 0;
  }

  /** Sets the count from a cumulative counter kept elsewhere (a component's own stats). */
  mirror(value: number, labels: Labels = {}): void {
    const key = labelKey(labels);
    const entry = this.#values.get(key);
    if (entry !== undefined) entry.value = value;
    else {
      checkLabels(labels);
      this.#values.set(key, { labels, value });
    }
  }

  samples(): { labels: Labels; value: number }[] {
    return [...this.#values.values()];
  }
}

/** A value that goes up and down, per label set. */
export class Gauge {
  readonly #values = new Map<string, { labels: Labels; value: number }>();

  set(value: number, labels: Labels = {}): void {
    const key = labelKey(labels);
    const entry = this.#values.get(key);
    if (entry !== undefined) entry.value = value;
    else {
      checkLabels(labels);
      this.#values.set(key, { labels, value });
    }
  }

  /** Drops every label set (before a collector sets the current ones). */
  reset(): void {
    this.#values.clear();
  }

  samples(): { labels: Labels; value: number }[] {
    return [...this.#values.values()];
  }
}

type HistogramEntry = { labels: Labels; counts: number[]; sum: number; count: number };

/** Observations counted into cumulative buckets (`le`), with their sum and count, per label set. */
export class Histogram {
  readonly buckets: readonly number[];
  readonly #values = new Map<string, HistogramEntry>();

  constructor(buckets: readonly number[]) {
    const sorted = [...new Set(buckets)].filter(Number.isFinite).sort((a, b) => a - b);
    this.buckets = sorted;
  }

  observe(value: number, labels: Labels = {}): void {
    const key = labelKey(labels);
    let entry = this.#values.get(key);
    if (entry === undefined) {
      checkLabels(labels);
      entry = { labels, counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.#values.set(key, entry);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) entry.counts[i]! += 1;
    entry.sum += value;
    entry.count += 1;
  }

  samples(): readonly HistogramEntry[] {
    return [...this.#values.values()];
  }
}

type Family =
  | { readonly name: string; readonly help: string; readonly type: 'counter'; readonly metric: Counter }
  | { readonly name: string; readonly help: string; readonly type: 'gauge'; readonly metric: Gauge }
  | { readonly name: string; readonly help: string; readonly type: 'histogram'; readonly metric: Histogram };

/**
 * The metrics of one program. Counters and histograms are updated where things happen; gauges that
 * mirror state kept elsewhere (nodes online, tunnels) are set by collectors run at each scrape, so
 * nothing is computed when nobody asks. `render()` writes the Prometheus text format.
 */
export class MetricsRegistry {
  readonly #families = new Map<string, Family>();
  readonly #collectors: (() => void)[] = [];

  #add<F extends Family>(family: F): F['metric'] {
    if (!METRIC_NAME.test(family.name))
      throw metricsError(MetricsErrorCode.BAD_NAME, `invalid metric name "${family.name}"`);
    if (this.#families.has(family.name))
      throw metricsError(MetricsErrorCode.BAD_NAME, `metric "${family.name}" registered twice`);
    this.#families.set(family.name, family);
    return family.metric;
  }

  counter(name: string, help: string): Counter {
    return this.#add({ name, help, type: 'counter', metric: new Counter() });
  }

  gauge(name: string, help: string): Gauge {
    return this.#add({ name, help, type: 'gauge', metric: new Gauge() });
  }

  histogram(name: string, help: string, buckets: readonly number[] = LATENCY_BUCKETS): Histogram {
    return this.#add({ name, help, type: 'histogram', metric: new Histogram(buckets) });
  }

  /** Runs before each render: sets the gauges that mirror state kept elsewhere. */
  collect(collector: () => void): void {
    this.#collectors.push(collector);
  }

  render(): string {
    for (const collector of this.#collectors) collector();
    const lines: string[] = [];
    for (const family of this.#families.values()) {
      lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
      if (family.type === 'histogram') {
        const buckets = family.metric.buckets;
        for (const entry of family.metric.samples()) {
          for (let i = 0; i < buckets.length; i++) {
            const le = formatValue(buckets[i]!);
            lines.push(`${family.name}_bucket${formatLabels({ ...entry.labels, le })} ${entry.counts[i]}`);
          }
          lines.push(`${family.name}_bucket${formatLabels({ ...entry.labels, le: '+Inf' })} ${entry.count}`);
          lines.push(`${family.name}_sum${formatLabels(entry.labels)} ${formatValue(entry.sum)}`);
          lines.push(`${family.name}_count${formatLabels(entry.labels)} ${entry.count}`);
        }
        continue;
      }
      for (const sample of family.metric.samples())
        lines.push(`${family.name}${formatLabels(sample.labels)} ${formatValue(sample.value)}`);
    }
    return `${lines.join('\n')}\n`;
  }
}
