import { describe, expect, it } from 'vitest';
import { SendBuffer } from './send-buffer.js';

describe('SendBuffer', () => {
  it('keeps its own copy: a Buffer reused after the write does not change what is sent', () => {
    const buffer = new SendBuffer();
    const chunk = Buffer.from('hello world');
    buffer.push(chunk);
    chunk.fill(0); // Node streams allow this once the write callback ran
    expect(Buffer.from(buffer.take(5)).toString()).toBe('hello');
    expect(Buffer.from(buffer.take(100)).toString()).toBe(' world');
    expect(buffer.length).toBe(0);
  });

  it('keeps a handed-over chunk as it is: segments are views of it, no copy', () => {
    const buffer = new SendBuffer();
    const chunk = new Uint8Array(64).fill(7);
    buffer.push(chunk, true);
    const segment = buffer.take(16);
    expect(segment.buffer).toBe(chunk.buffer);
    expect(segment.byteOffset).toBe(0);
    const copied = new Uint8Array(8).fill(9);
    buffer.push(copied);
    expect(buffer.peek(100).length).toBe(56);
    expect(buffer.take(48).buffer).toBe(chunk.buffer);
    expect(buffer.take(8).buffer).not.toBe(copied.buffer);
  });

  it('cuts segments across chunk boundaries', () => {
    const buffer = new SendBuffer();
    buffer.push(Uint8Array.of(1, 2, 3));
    buffer.push(Uint8Array.of(4, 5));
    expect([...buffer.peek(4)]).toEqual([1, 2, 3, 4]);
    expect([...buffer.take(2)]).toEqual([1, 2]);
    expect([...buffer.take(2)]).toEqual([3, 4]);
    expect([...buffer.take(2)]).toEqual([5]);
  });
});
