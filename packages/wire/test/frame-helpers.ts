// Helpers shared by the message tests (beacon, IPC, framing, services).
import { fromHex } from '@pilot/testkit';
import { expect } from 'vitest';
import { isPilotError } from '../src/index.js';

const BYTE_FIELDS = new Set(['ip', 'frame', 'data', 'payload']);

/** A vector's message with its hex byte fields (ip, frame, data, payload) turned into Uint8Array. */
export function withBytes<T>(value: unknown): T {
  const convert = (node: unknown, key?: string): unknown => {
    if (typeof node === 'string' && key !== undefined && BYTE_FIELDS.has(key)) return fromHex(node);
    if (Array.isArray(node)) return node.map((item) => convert(item));
    if (typeof node === 'object' && node !== null) {
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, convert(v, k)]));
    }
    return node;
  };
  return convert(value) as T;
}

/** Runs `run` and asserts it throws a PilotError with `code` (or, without one, any WIRE_ code). */
export function expectWireError(run: () => unknown, code?: string): void {
  let thrown: unknown;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, 'expected a PilotError').toBeDefined();
  if (!isPilotError(thrown)) throw new Error(`expected a PilotError, got ${String(thrown)}`);
  if (code === undefined) expect(thrown.code).toMatch(/^WIRE_/);
  else expect(thrown.code).toBe(code);
}

/** The decoder's contract on hostile input: a value, or a PilotError with a WIRE_ code. Nothing else. */
export function survives(run: () => unknown): boolean {
  try {
    run();
    return true;
  } catch (error) {
    if (isPilotError(error) && error.code.startsWith('WIRE_')) return true;
    throw error;
  }
}

/** Concatenation of byte arrays. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** `bytes` cut at the given offsets (sorted, deduplicated, clamped), as successive chunks. */
export function cutAt(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((cut) => Math.min(cut, bytes.length)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of points) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}
