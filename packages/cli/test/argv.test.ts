import { isPilotError } from '@pilot/wire';
import { describe, expect, it } from 'vitest';
import { Args, CliError, parseArgs, parseDuration } from '../src/index.js';

const FLAGS = {
  count: { type: 'number', help: '' },
  data: { type: 'string', help: '' },
  clear: { type: 'boolean', help: '' },
  set: { type: 'list', help: '' },
  timeout: { type: 'duration', help: '' },
} as const;

describe('argv parsing', () => {
  it('reads --key value, --key=value, bare booleans and positionals in any order', () => {
    const parsed = parseArgs(
      ['a', '--count', '3', 'b', '--data=x=y', '--clear', '--set', 'k=v', '--set=j=w'],
      FLAGS,
    );
    expect(parsed.positionals).toEqual(['a', 'b']);
    expect(parsed.flags.get('count')).toBe('3');
    expect(parsed.flags.get('data')).toBe('x=y');
    expect(parsed.flags.get('clear')).toBe(true);
    expect(parsed.flags.get('set')).toEqual(['k=v', 'j=w']);
  });

  it('lets a boolean take an explicit true/false and keeps what follows --', () => {
    const parsed = parseArgs(['--clear', 'false', 'x', '--', '--count', 'y'], FLAGS);
    expect(parsed.flags.get('clear')).toBe(false);
    expect(parsed.positionals).toEqual(['x']);
    expect(parsed.rest).toEqual(['--count', 'y']);
  });

  it('refuses unknown flags and flags without their value as usage errors (exit 2)', () => {
    for (const argv of [['--nope'], ['--data'], ['--clear=maybe']]) {
      const error = (() => {
        try {
          parseArgs(argv, FLAGS);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(CliError);
      expect((error as CliError).exitCode).toBe(2);
      expect((error as CliError).cliCode).toBe('invalid_argument');
      expect(isPilotError(error, 'CLI_INVALID_ARGUMENT')).toBe(true);
    }
  });

  it('checks positional counts and typed values', () => {
    const spec = [
      { name: 'target', help: '' },
      { name: 'port', help: '', optional: true },
    ];
    expect(() => new Args(parseArgs([], FLAGS), spec)).toThrow(/missing argument <target>/);
    expect(() => new Args(parseArgs(['a', 'b', 'c'], FLAGS), spec)).toThrow(/unexpected argument "c"/);
    const args = new Args(parseArgs(['a', '--count', '5', '--timeout', '1m30s'], FLAGS), spec);
    expect(args.need('target')).toBe('a');
    expect(args.arg('port')).toBeUndefined();
    expect(args.number('count', 1, { min: 1 })).toBe(5);
    expect(args.duration('timeout', 0)).toBe(90_000);
    const bad = new Args(parseArgs(['a', '--count', 'many'], FLAGS), spec);
    expect(() => bad.number('count', 1)).toThrow(/whole number/);
  });

  it('reads durations like the daemon does', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('5s')).toBe(5000);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('3')).toBe(3000);
    expect(() => parseDuration('soon')).toThrow(CliError);
  });
});
