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
  it('reports at most 4 SACK blocks: the most recent arrival first, then the newest unreported', () => {
    const b = new ReassemblyBuffer(0, 10_000, 16);
    for (const at of [10, 30, 50, 70, 90]) b.insert(at, bytes(at, 5), 0);
    b.insert(52, bytes(52, 5), 0);
    const blocks = b.sackBlocks(4);
    expect(blocks).toHaveLength(4);
    expect(blocks[0]).toEqual({ left: 50, right: 57 });
    expect(blocks.slice(1)).toEqual([
      { left: 90, right: 95 },
      { left: 70, right: 75 },
      { left: 30, right: 35 },
    ]);
  });
  it('blocks made between two ACKs are all reported, least-reported first; a grown block afresh', () => {
    const b = new ReassemblyBuffer(0, 10_000, 32);
    // One batch of arrivals (one ACK for all of it) leaves eight ranges; RFC 2018's "recent, then
    // the previous ACK's blocks" would never report the middle ones.
    for (const at of [10, 20, 30, 40, 50, 60, 70, 80]) b.insert(at, bytes(at, 5), 0);
    const seen = new Map<number, number>();
    const reports: number[][] = [];
    for (let ack = 0; ack < 6; ack++) {
      const blocks = b.sackBlocks(4);
      // Until each range went out once, the connection sends another ACK at once.
      expect(b.unreportedBlocks).toBe([4, 1, 0, 0, 0, 0][ack]);
      expect(blocks[0]).toEqual({ left: 80, right: 85 });
      reports.push(blocks.map((block) => block.left));
      for (const block of blocks) seen.set(block.left, (seen.get(block.left) ?? 0) + 1);
    }
    expect(reports.slice(0, 3)).toEqual([
      [80, 70, 60, 50],
      [80, 40, 30, 20],
      [80, 10, 70, 60],
    ]);
    // Six ACKs of four blocks: the newest every time, each of the other seven at least twice.
    for (const at of [10, 20, 30, 40, 50, 60, 70]) expect(seen.get(at)).toBeGreaterThanOrEqual(2);
    b.insert(45, bytes(45, 5), 0); // joins 40–45 and 50–55 into 40–55: a new extent, reported next
    expect(b.sackBlocks(4).map((block) => block.left)).toEqual([40, 30, 20, 10]);
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
