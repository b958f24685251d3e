import { usageError } from './errors.js';

export type FlagType = 'string' | 'boolean' | 'number' | 'duration' | 'list';

export interface FlagSpec {
  readonly type: FlagType;
  readonly help: string;
  /** Shown in help and the manifest; the command applies it. */
  readonly default?: string;
}

export interface ArgSpec {
  readonly name: string;
  readonly help: string;
  readonly optional?: boolean;
  /** Takes every remaining positional argument. */
  readonly variadic?: boolean;
}

/** The flags every command takes; they may appear anywhere in argv. */
export const GLOBAL_FLAGS: Readonly<Record<string, FlagSpec>> = {
  json: { type: 'boolean', help: 'print {"status":"ok","data":…} on stdout, or the error as JSON on stderr' },
  socket: {
    type: 'string',
    help: 'IPC socket of the daemon (default $PILOT_SOCKET, config "socket", $PILOT_HOME/pilot.sock)',
  },
  help: { type: 'boolean', help: "show the command's usage" },
};

export interface ParsedArgs {
  readonly positionals: string[];
  readonly flags: Map<string, string | boolean | string[]>;
  /** Everything after a bare `--`, untouched. */
  readonly rest: string[];
}

const BOOLEAN_TEXT = /^(true|false)$/i;

/**
 * Reads `--key value`, `--key=value` and bare boolean `--flag` (which may be followed by true/false).
 * Flags may come before, between or after positionals; `--` ends flag parsing. Unknown flags are a
 * usage error unless `passthrough` names what to do with them.
 */
export function parseArgs(
  argv: readonly string[],
  specs: Readonly<Record<string, FlagSpec>>,
  options: { readonly passthrough?: (name: string) => FlagType | undefined } = {},
): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Map<string, string | boolean | string[]>();
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] as string;
    if (token === '--') {
      rest.push(...argv.slice(i + 1));
      break;
    }
    if (!token.startsWith('--') || token === '--') {
      positionals.push(token);
      continue;
    }
    const eq = token.indexOf('=');
    const name = token.slice(2, eq < 0 ? undefined : eq);
    const type = specs[name]?.type ?? GLOBAL_FLAGS[name]?.type ?? options.passthrough?.(name);
    if (type === undefined) throw usageError(`unknown flag --${name}`);
    let value: string | boolean;
    if (eq >= 0) {
      value = token.slice(eq + 1);
      if (type === 'boolean') {
        if (!BOOLEAN_TEXT.test(value)) throw usageError(`--${name} takes true or false, not "${value}"`);
        value = value.toLowerCase() === 'true';
      }
    } else if (type === 'boolean') {
      const next = argv[i + 1];
      if (next !== undefined && BOOLEAN_TEXT.test(next)) {
        value = next.toLowerCase() === 'true';
        i++;
      } else value = true;
    } else {
      const next = argv[i + 1];
      if (next === undefined) throw usageError(`--${name} needs a value`);
      value = next;
      i++;
    }
    if (type === 'list') {
      const list = flags.get(name);
      flags.set(name, [...(Array.isArray(list) ? list : []), String(value)]);
    } else flags.set(name, value);
  }
  return { positionals, flags, rest };
}

/** Typed access to one command's parsed arguments, with usage errors that name the argument. */
export class Args {
  readonly #parsed: ParsedArgs;
  readonly #names: readonly ArgSpec[];

  constructor(parsed: ParsedArgs, args: readonly ArgSpec[]) {
    this.#parsed = parsed;
    this.#names = args;
    const required = args.filter((arg) => arg.optional !== true && arg.variadic !== true).length;
    const variadic = args.some((arg) => arg.variadic === true);
    if (parsed.positionals.length < required) {
      const missing = args[parsed.positionals.length];
      throw usageError(`missing argument <${missing?.name ?? '?'}>`);
    }
    if (!variadic && parsed.positionals.length > args.length) {
      throw usageError(`unexpected argument "${parsed.positionals[args.length]}"`);
    }
  }

  get rest(): string[] {
    return this.#parsed.rest;
  }

  /** The positional argument called `name` (undefined when an optional one is absent). */
  arg(name: string): string | undefined {
    const index = this.#names.findIndex((spec) => spec.name === name);
    return index < 0 ? undefined : this.#parsed.positionals[index];
  }

  /** A required positional argument. */
  need(name: string): string {
    const value = this.arg(name);
    if (value === undefined) throw usageError(`missing argument <${name}>`);
    return value;
  }

  /** The variadic tail starting at argument `name`. */
  list(name: string): string[] {
    const index = this.#names.findIndex((spec) => spec.name === name);
    return index < 0 ? [] : this.#parsed.positionals.slice(index);
  }

  has(flag: string): boolean {
    return this.#parsed.flags.has(flag);
  }

  string(flag: string): string | undefined {
    const value = this.#parsed.flags.get(flag);
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw usageError(`--${flag} needs a value`);
    return value;
  }

  strings(flag: string): string[] {
    const value = this.#parsed.flags.get(flag);
    if (value === undefined) return [];
    return Array.isArray(value) ? value : [String(value)];
  }

  bool(flag: string): boolean {
    return this.#parsed.flags.get(flag) === true;
  }

  number(
    flag: string,
    fallback: number,
    options: { min?: number; max?: number; integer?: boolean } = {},
  ): number {
    const text = this.string(flag);
    if (text === undefined) return fallback;
    return parseNumber(text, `--${flag}`, options);
  }

  /** A duration flag in milliseconds (`500ms`, `5s`, `2m`, `1h`; a bare number is seconds). */
  duration(flag: string, fallbackMs: number): number {
    const text = this.string(flag);
    return text === undefined ? fallbackMs : parseDuration(text, `--${flag}`);
  }
}

export function parseNumber(
  text: string,
  what: string,
  options: { min?: number; max?: number; integer?: boolean } = {},
): number {
  const value = Number(text);
  const { min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY, integer = true } = options;
  if (
    text.trim() === '' ||
    !Number.isFinite(value) ||
    (integer && !Number.isInteger(value)) ||
    value < min ||
    value > max
  ) {
    const range = `${Number.isFinite(min) ? min : ''}..${Number.isFinite(max) ? max : ''}`;
    throw usageError(
      `${what} must be ${integer ? 'a whole number' : 'a number'}${range === '..' ? '' : ` in ${range}`}, not "${text}"`,
    );
  }
  return value;
}

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `500ms`, `5s`, `2m`, `1h`, `1m30s`, or a bare number of seconds → milliseconds. */
export function parseDuration(text: string, what = 'duration'): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  let rest = trimmed;
  let total = 0;
  if (rest === '') throw usageError(`${what} is empty (write it like 5s or 2m)`);
  while (rest !== '') {
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)/.exec(rest);
    if (match === null) throw usageError(`${what}: bad duration "${text}" (write it like 500ms, 5s, 2m)`);
    total += Number(match[1]) * (UNITS[match[2] as string] ?? 0);
    rest = rest.slice(match[0].length);
  }
  return Math.round(total);
}

export function parsePort(text: string, what = 'port'): number {
  return parseNumber(text, what, { min: 0, max: 65_535 });
}
