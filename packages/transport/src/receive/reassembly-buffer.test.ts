import { describe, expect, it } from 'vitest';
import { InsertResult, ReassemblyBuffer } from './reassembly-buffer.js';

const bytes = (start: number, n: number): Uint8Array =>
  Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);

function readAll(b: ReassemblyBuffer): number[] {
  const out: number[] = [];
  for (let c = b.read(); c !== undefined; c = b.read()) out.push(...c);
  return out;
}

describe('ReassemblyBuffer', () => {
  it('delivers in order, holds out-of-order pieces and drains them when the gap fills', () => {
    const b = new ReassemblyBuffer(100, 10_000, 16);
    expect(b.insert(110, bytes(10, 10), 0)).toBe(InsertResult.OUT_OF_ORDER);
    expect(b.readableBytes).toBe(0);
    expect(b.sackBlocks()).toEqual([{ left: 110, right: 120 }]);
    expect(b.insert(100, bytes(0, 10), 0)).toBe(InsertResult.IN_ORDER);
    expect(b.nextSeq).toBe(120);
    expect(readAll(b)).toEqual([...bytes(0, 20)]);
    expect(b.hasOutOfOrder).toBe(false);
  });
  it('trims overlaps and drops pure duplicates', () => {
    const b = new ReassemblyBuffer(0, 10_000, 16);
    b.insert(0, bytes(0, 10), 0);
    expect(b.insert(0, bytes(0, 10), 0)).toBe(InsertResult.DUPLICATE);
    expect(b.insert(5, bytes(5, 10), 0)).toBe(InsertResult.IN_ORDER);
    b.insert(30, bytes(30, 10), 0);
    expect(b.insert(25, bytes(25, 20), 0)).toBe(InsertResult.OUT_OF_ORDER);
    expect(b.insert(30, bytes(30, 5), 0)).toBe(InsertResult.DUPLICATE);
    b.insert(15, bytes(15, 10), 0);
    expect(readAll(b)).toEqual([...bytes(0, 45)]);
  });
  it('reports at most 4 SACK blocks, the most recent first', () => {
    const b = new ReassemblyBuffer(0, 10_000, 16);
    for (const at of [10, 30, 50, 70, 90]) b.insert(at, bytes(at, 5), 0);
    b.insert(52, bytes(52, 5), 0);
    const blocks = b.sackBlocks(4);
    expect(blocks).toHaveLength(4);
    expect(blocks[0]).toEqual({ left: 50, right: 57 });
    expect(blocks.slice(1)).toEqual([
      { left: 10, right: 15 },
      { left: 30, right: 35 },
      { left: 70, right: 75 },
    ]);
  });
  it('repeats the blocks of the previous SACK, as they have grown, before the ascending rest (RFC 2018 §4)', () => {
    const b = new ReassemblyBuffer(0, 10_000, 32);
    for (const at of [10, 30, 50, 70, 90, 110]) b.insert(at, bytes(at, 5), 0);
    // Arrivals at the top: each report leads with the newest range, then the previous report's.
    expect(b.sackBlocks(4)).toEqual([
      { left: 110, right: 115 },
      { left: 10, right: 15 },
      { left: 30, right: 35 },
      { left: 50, right: 55 },
    ]);
    b.insert(95, bytes(95, 5), 0);
    b.insert(90, bytes(90, 5), 0); // grows the 90 range to 90–100
    expect(b.sackBlocks(4)).toEqual([
      { left: 90, right: 100 },
      { left: 110, right: 115 },
      { left: 10, right: 15 },
      { left: 30, right: 35 },
    ]);
    b.insert(130, bytes(130, 5), 0);
    // 90–100 stays reported after the newest range, even though three lower ranges exist.
    expect(b.sackBlocks(4)).toEqual([
      { left: 130, right: 135 },
      { left: 90, right: 100 },
      { left: 110, right: 115 },
      { left: 10, right: 15 },
    ]);
  });
  it('bounds memory: beyond capacity + slack is FULL, and out-of-order pieces are capped', () => {
    const b = new ReassemblyBuffer(0, 100, 2);
    expect(b.insert(0, bytes(0, 100), 0)).toBe(InsertResult.IN_ORDER);
    expect(b.freeBytes).toBe(0);
    expect(b.insert(100, bytes(100, 10), 0)).toBe(InsertResult.FULL);
    expect(b.insert(100, bytes(100, 10), 10)).toBe(InsertResult.IN_ORDER);
    const c = new ReassemblyBuffer(0, 1000, 2);
    c.insert(10, bytes(10, 5), 0);
    c.insert(20, bytes(20, 5), 0);
    expect(c.insert(30, bytes(30, 5), 0)).toBe(InsertResult.DUPLICATE);
    expect(c.bufferedBytes).toBe(10);
  });
  it('works across the 2^32 wrap', () => {
    const b = new ReassemblyBuffer(0xffff_fff0, 1000, 16);
    b.insert(0x0000_0000, bytes(16, 16), 0);
    b.insert(0xffff_fff0, bytes(0, 16), 0);
    expect(b.nextSeq).toBe(16);
    expect(readAll(b)).toEqual([...bytes(0, 32)]);
  });
});
