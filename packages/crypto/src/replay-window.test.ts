import { propertyOptions } from '@pilot/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REPLAY_WINDOW_SIZE, ReplayWindow } from './replay-window.js';

/** The rule written the obvious way, with a set of every counter ever accepted. */
class ModelWindow {
  readonly seen = new Set<bigint>();
  max = 0n;
  accept(counter: bigint): boolean {
    if (counter <= 0n || counter >= 2n ** 64n) return false;
    if (this.max !== 0n && counter <= this.max - BigInt(REPLAY_WINDOW_SIZE)) return false;
    if (this.seen.has(counter)) return false;
    this.seen.add(counter);
    if (counter > this.max) this.max = counter;
    return true;
  }
}

describe('ReplayWindow', () => {
  it('rejects counter 0 and accepts any first counter (max 0 = nothing received yet)', () => {
    const w = new ReplayWindow();
    expect(w.check(0)).toBe(false);
    expect(w.check(0n)).toBe(false);
    expect(w.max).toBe(0n);
    expect(w.accept(1000)).toBe(true);
    expect(w.max).toBe(1000n);
    expect(w.check(0)).toBe(false);
  });

  it('rejects duplicates; accepts reordering inside the window', () => {
    const w = new ReplayWindow();
    expect(w.accept(5)).toBe(true);
    expect(w.accept(5)).toBe(false);
    expect(w.accept(3)).toBe(true);
    expect(w.accept(4)).toBe(true);
    expect(w.accept(3)).toBe(false);
    expect(w.accept(1)).toBe(true);
    expect(w.accept(6)).toBe(true);
    expect(w.accept(2)).toBe(true);
    expect(w.accept(2)).toBe(false);
  });

  it('keeps exactly 256 counters: max - 255 is still checked, max - 256 is too old', () => {
    const w = new ReplayWindow();
    expect(w.accept(1000)).toBe(true);
    expect(w.check(1000 - 255)).toBe(true);
    expect(w.check(1000 - 256)).toBe(false);
    expect(w.accept(1000 - 255)).toBe(true);
    expect(w.accept(1000 - 255)).toBe(false);
  });

  it('check does not record; mark records only what check allows', () => {
    const w = new ReplayWindow();
    expect(w.check(7)).toBe(true);
    expect(w.check(7)).toBe(true);
    expect(w.max).toBe(0n);
    expect(w.mark(7)).toBe(true);
    expect(w.mark(7)).toBe(false);
    expect(w.mark(0)).toBe(false);
    expect(w.max).toBe(7n);
  });

  it('slides by more than the window: old bits are forgotten, not wrongly kept', () => {
    const w = new ReplayWindow();
    for (let c = 1; c <= 300; c++) expect(w.accept(c)).toBe(true);
    expect(w.accept(300 + 256 + 10)).toBe(true);
    // Positions of the old counters are reused by new ones and must read as unseen.
    expect(w.accept(300 + 256 + 9)).toBe(true);
    expect(w.accept(300 + 11)).toBe(true);
    expect(w.accept(300 + 10)).toBe(false); // exactly 256 behind
  });

  it('handles counters across the 2^32 boundary and at 2^64 - 1', () => {
    const w = new ReplayWindow();
    const base = 2n ** 32n - 3n;
    for (let i = 0n; i < 6n; i++) expect(w.accept(base + i)).toBe(true);
    expect(w.accept(base + 2n)).toBe(false);
    expect(w.max).toBe(base + 5n);
    expect(w.accept(2n ** 64n - 1n)).toBe(true);
    expect(w.max).toBe(2n ** 64n - 1n);
    expect(w.accept(2n ** 64n - 1n)).toBe(false);
    expect(w.accept(2n ** 64n - 256n)).toBe(true);
    expect(w.accept(2n ** 64n - 257n)).toBe(false);
    expect(w.check(2n ** 64n)).toBe(false);
    expect(w.check(-1)).toBe(false);
    expect(w.check(1.5)).toBe(false);
    expect(w.check(Number.MAX_SAFE_INTEGER + 1)).toBe(false);
  });

  it('the split and bigint forms agree', () => {
    const w = new ReplayWindow();
    expect(w.markSplit(1, 5)).toBe(true);
    expect(w.max).toBe(2n ** 32n + 5n);
    expect(w.check(2n ** 32n + 5n)).toBe(false);
    expect(w.checkSplit(1, 4)).toBe(true);
    expect(w.checkSplit(0, 0xffff_ffff)).toBe(true);
    expect(w.checkSplit(0, 0xffff_ffff - 250)).toBe(false);
  });

  it('reset forgets everything', () => {
    const w = new ReplayWindow();
    w.accept(10);
    w.reset();
    expect(w.max).toBe(0n);
    expect(w.accept(10)).toBe(true);
  });

  it('matches the set-based model on random sequences (small steps, jumps, duplicates, huge values)', () => {
    const step = fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: -300, max: 40 }).map((d) => ({ kind: 'rel' as const, d })) },
      { weight: 1, arbitrary: fc.integer({ min: 200, max: 700 }).map((d) => ({ kind: 'rel' as const, d })) },
      {
        weight: 1,
        arbitrary: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((v) => ({ kind: 'abs' as const, v })),
      },
    );
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        fc.array(step, { maxLength: 400 }),
        (start, steps) => {
          const w = new ReplayWindow();
          const model = new ModelWindow();
          let cursor = start;
          for (const s of steps) {
            const counter = s.kind === 'abs' ? s.v : cursor + BigInt(s.d);
            if (s.kind === 'rel') cursor = counter < 0n ? 0n : counter;
            expect(w.check(counter)).toBe(checkModel(model, counter));
            expect(w.accept(counter)).toBe(model.accept(counter));
            expect(w.max).toBe(model.max);
          }
        },
      ),
      propertyOptions(300),
    );
  });
});

function checkModel(model: ModelWindow, counter: bigint): boolean {
  if (counter <= 0n || counter >= 2n ** 64n) return false;
  if (model.max !== 0n && counter <= model.max - BigInt(REPLAY_WINDOW_SIZE)) return false;
  return !model.seen.has(counter);
}
