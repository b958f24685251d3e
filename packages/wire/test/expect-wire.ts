import { expect } from 'vitest';
import { isPilotError } from '../src/index.js';

/**
 * Runs a decoder on hostile input: it must return, or throw a PilotError whose code starts with
 * WIRE_. Returns the thrown code (undefined when it returned) so callers can assert more.
 */
export function wireOutcome(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (!isPilotError(error) || !error.code.startsWith('WIRE_')) {
      throw new Error(`expected a value or a WIRE_ PilotError, got ${String(error)}`, { cause: error });
    }
    return error.code;
  }
}

/** Asserts that `run` throws a PilotError with exactly `code`. */
export function expectWireError(run: () => unknown, code: string): void {
  let thrown: unknown;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, `expected ${code}`).toBeDefined();
  expect(isPilotError(thrown) ? thrown.code : String(thrown)).toBe(code);
}
