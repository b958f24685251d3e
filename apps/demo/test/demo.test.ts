import { describe, expect, it } from 'vitest';
import { runDemo } from '../src/run-demo.js';

describe('demo', () => {
  it('exchanges PILA frames, agrees on a key, delivers a sealed packet and refuses replay and tampering', async () => {
    const lines: string[] = [];
    const result = await runDemo((line) => lines.push(line));
    expect(result).toEqual({
      keysAgree: true,
      delivered: 'hello',
      replayRejectedWith: 'CRYPTO_REPLAY',
      tamperRejectedWith: 'CRYPTO_BAD_TAG',
    });
    expect(lines.some((line) => line.includes('PILA'))).toBe(true);
  });
});
