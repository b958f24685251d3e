import { MetricsErrorCode, metricsError } from './errors.js';
import { LABEL_NAME, METRIC_NAME } from './exposition.js';

export type ParsedSample = {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly timestamp?: number;
};

export type ParsedFamily = {
  readonly name: string;
  help: string | undefined;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  readonly samples: ParsedSample[];
};

const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function bad(line: number, message: string): never {
  throw metricsError(MetricsErrorCode.BAD_TEXT, `line ${line}: ${message}`);
}

function parseNumber(text: string, line: number): number {
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (text === 'NaN') return Number.NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) bad(line, `"${text}" is not a number`);
  return Number(text);
}

function unescapeText(text: string, line: number, quotes: boolean): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = text[++i];
    if (next === '\\') out += '\\';
    else if (next === 'n') out += '\n';
    else if (next === '"' && quotes) out += '"';
    else bad(line, `bad escape \\${next ?? ''}`);
  }
  return out;
}

/** `{a="x",b="y"}` from `start` (at `{`): the labels and the index after `}`. */
function parseLabels(
  text: string,
  start: number,
  line: number,
): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = start + 1;
  for (;;) {
    while (text[i] === ' ') i++;
    if (text[i] === '}') return { labels, end: i + 1 };
    const name = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(text.slice(i))?.[0];
    if (name === undefined || !LABEL_NAME.test(name)) bad(line, 'bad label name');
    if (Object.hasOwn(labels, name)) bad(line, `label ${name} given twice`);
    i += name.length;
    while (text[i] === ' ') i++;
    if (text[i] !== '=' || text[i + 1] !== '"') bad(line, `label ${name} needs ="value"`);
    i += 2;
    let raw = '';
    for (;;) {
      const c = text[i];
      if (c === undefined) bad(line, 'unterminated label value');
      if (c === '\\') {
        raw += c + (text[i + 1] ?? '');
        i += 2;
        continue;
      }
      if (c === '"') break;
      raw += c;
      i++;
    }
    labels[name] = unescapeText(raw, line, true);
    i++;
    while (text[i] === ' ') i++;
    if (text[i] === ',') i++;
    else if (text[i] !== '}') bad(line, 'labels need , or }');
  }
}

function familyOf(name: string, families: Map<string, ParsedFamily>): ParsedFamily | undefined {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue;
    const base = families.get(name.slice(0, -suffix.length));
    if (
      base !== undefined &&
      (base.type === 'histogram' || (base.type === 'summary' && suffix !== '_bucket'))
    )
      return base;
  }
  return families.get(name);
}

function checkHistogram(family: ParsedFamily): void {
  const groups = new Map<string, { buckets: [number, number][]; count?: number }>();
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const group = groups.get(key) ?? { buckets: [] };
    groups.set(key, group);
    if (sample.name === `${family.name}_bucket`) {
      if (le === undefined) bad(0, `${family.name}_bucket without le`);
      group.buckets.push([parseNumber(le, 0), sample.value]);
    } else if (sample.name === `${family.name}_count`) group.count = sample.value;
  }
  for (const group of groups.values()) {
    group.buckets.sort((a, b) => a[0] - b[0]);
    const last = group.buckets.at(-1);
    if (last === undefined || last[0] !== Number.POSITIVE_INFINITY)
      bad(0, `histogram ${family.name} lacks its +Inf bucket`);
    for (let i = 1; i < group.buckets.length; i++)
      if (group.buckets[i]![1] < group.buckets[i - 1]![1])
        bad(0, `histogram ${family.name}: buckets not cumulative`);
    if (group.count !== undefined && group.count !== last[1])
      bad(0, `histogram ${family.name}: _count ${group.count} is not the +Inf bucket ${last[1]}`);
  }
}

/**
 * A strict parser of the Prometheus text exposition format (0.0.4), for tests and tools: HELP and
 * TYPE lines, label escaping, special values, `_bucket`/`_sum`/`_count` grouped under their
 * histogram, and the histogram rules (a `+Inf` bucket equal to `_count`, cumulative buckets).
 * Anything else is a METRICS_BAD_TEXT error naming the line.
 */
export function parsePrometheusText(text: string): Map<string, ParsedFamily> {
  const families = new Map<string, ParsedFamily>();
  const seen = new Set<string>();
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '') return;
    if (trimmed.startsWith('#')) {
      // Not trimmed at the end: a HELP text keeps its spaces.
      const match = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t](.*))?$/s.exec(raw.trimStart());
      if (match === null) return; // a comment
      const [, keyword, name = '', rest = ''] = match;
      if (!METRIC_NAME.test(name)) bad(line, `bad metric name "${name}"`);
      let family = families.get(name);
      if (family === undefined) {
        family = { name, help: undefined, type: 'untyped', samples: [] };
        families.set(name, family);
      }
      if (keyword === 'HELP') {
        if (family.help !== undefined) bad(line, `second HELP for ${name}`);
        family.help = unescapeText(rest, line, false);
      } else {
        const type = rest.trim();
        if (!TYPES.has(type)) bad(line, `unknown type "${type}"`);
        if (family.samples.length > 0) bad(line, `TYPE for ${name} after its samples`);
        if (seen.has(`type:${name}`)) bad(line, `second TYPE for ${name}`);
        seen.add(`type:${name}`);
        family.type = type as ParsedFamily['type'];
      }
      return;
    }
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(trimmed)?.[0];
    if (name === undefined) bad(line, 'a sample must start with a metric name');
    let i = name.length;
    let labels: Record<string, string> = {};
    if (trimmed[i] === '{') ({ labels, end: i } = parseLabels(trimmed, i, line));
    const fields = trimmed.slice(i).trim().split(/\s+/);
    if (trimmed[i] !== ' ' && trimmed[i] !== '\t') bad(line, 'a space must separate the value');
    if (fields.length < 1 || fields.length > 2 || fields[0] === '')
      bad(line, 'expected a value and an optional timestamp');
    const value = parseNumber(fields[0]!, line);
    const timestamp = fields[1] === undefined ? undefined : parseNumber(fields[1], line);
    if (timestamp !== undefined && !Number.isInteger(timestamp))
      bad(line, 'the timestamp must be an integer');
    const key = `sample:${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) bad(line, `sample ${name} given twice`);
    seen.add(key);
    let family = familyOf(name, families);
    if (family === undefined) {
      family = { name, help: undefined, type: 'untyped', samples: [] };
      families.set(name, family);
    }
    family.samples.push(
      timestamp === undefined ? { name, labels, value } : { name, labels, value, timestamp },
    );
  });
  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family);
  return families;
}

/** The value of one sample (by exact name and labels), or undefined. */
export function sampleValue(
  families: Map<string, ParsedFamily>,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number | undefined {
  const family = familyOf(name, families);
  const want = JSON.stringify(Object.entries(labels).sort());
  return family?.samples.find(
    (sample) => sample.name === name && JSON.stringify(Object.entries(sample.labels).sort()) === want,
  )?.value;
}
