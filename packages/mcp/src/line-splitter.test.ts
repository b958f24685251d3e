import { describe, expect, it } from 'vitest';
import { McpErrorCode } from './errors.js';
import { LineSplitter } from './line-splitter.js';

describe('LineSplitter', () => {
  it('reassembles lines split across chunks and strips CR', () => {
    const splitter = new LineSplitter(1024);
    expect(splitter.push(Buffer.from('{"a":'))).toEqual([]);
    expect(splitter.push(Buffer.from('1}\r\n{"b":2}\n{"c"'))).toEqual(['{"a":1}', '{"b":2}']);
    expect(splitter.push(Buffer.from(':3}\n'))).toEqual(['{"c":3}']);
  });

  it('keeps multi-byte characters split across chunks intact', () => {
    const splitter = new LineSplitter(1024);
    const bytes = Buffer.from('"héllo 🙂"\n');
    expect(splitter.push(bytes.subarray(0, 3))).toEqual([]);
    expect(splitter.push(bytes.subarray(3, 10))).toEqual([]);
    expect(splitter.push(bytes.subarray(10))).toEqual(['"héllo 🙂"']);
  });

  it('refuses a line beyond the limit, then recovers', () => {
    const splitter = new LineSplitter(8);
    expect(() => splitter.push(Buffer.from('0123456789'))).toThrow(
      expect.objectContaining({ code: McpErrorCode.BAD_MESSAGE }),
    );
    expect(splitter.push(Buffer.from('ok\n'))).toEqual(['ok']);
  });
});
