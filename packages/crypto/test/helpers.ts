import { readFileSync } from 'node:fs';
import { isPilotError } from '@pilot/wire';
import { expect } from 'vitest';
import { availableBackends, type BackendName } from '../src/index.js';

export const BACKENDS: readonly BackendName[] = availableBackends();

export function loadVector<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`./vectors/${name}`, import.meta.url), 'utf8')) as T;
}

/** Runs `action` and returns the PilotError code it threw, failing the test on any other outcome. */
export function codeOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    if (isPilotError(error)) return error.code;
    throw new Error(`expected a PilotError, got ${String(error)}`, { cause: error });
  }
  throw new Error('expected a PilotError, but nothing was thrown');
}

/** Runs `action`: it may return, or throw a PilotError whose code starts with CRYPTO_; nothing else. */
export function cryptoOutcome(action: () => unknown): 'ok' | string {
  try {
    action();
    return 'ok';
  } catch (error) {
    expect(isPilotError(error), `non-PilotError thrown: ${String(error)}`).toBe(true);
    const code = (error as { code: string }).code;
    expect(code.startsWith('CRYPTO_'), `code ${code}`).toBe(true);
    return code;
  }
}

export function bytes(length: number, fill: (i: number) => number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => fill(i) & 0xff);
}
