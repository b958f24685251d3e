import { PassThrough } from 'node:stream';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { propertyOptions } from '@pilot/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DuplexTransport } from './duplex-transport.js';
import { McpErrorCode } from './errors.js';
import { LineSplitter } from './line-splitter.js';

/** Splits `bytes` at the given cut points (sorted, deduplicated). */
function chunked(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let start = 0;
  for (const point of points) {
    out.push(bytes.subarray(start, point));
    start = point;
  }
  out.push(bytes.subarray(start));
  return out;
}

describe('MCP decoders under arbitrary input', () => {
  it('LineSplitter gives the same lines however the bytes are cut, and never more than the limit', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.array(fc.nat(), { maxLength: 12 }), (raw, cuts) => {
        const bytes = Buffer.from(raw);
        const limit = 64;
        const splitter = new LineSplitter(limit);
        const lines: string[] = [];
        let refused = false;
        for (const chunk of chunked(bytes, cuts)) {
          try {
            lines.push(...splitter.push(chunk));
          } catch (error) {
            expect(error).toMatchObject({ code: McpErrorCode.BAD_MESSAGE });
            refused = true;
          }
        }
        const whole = bytes.toString('latin1').split('\n');
        const complete = whole.slice(0, -1);
        if (!refused && complete.every((line) => line.length <= limit)) {
          expect(lines).toEqual(
            complete.map((line) => Buffer.from(line, 'latin1').toString('utf8').replace(/\r$/, '')),
          );
        }
      }),
      propertyOptions(500),
    );
  });

  it('DuplexTransport reports malformed lines as MCP_BAD_MESSAGE and still delivers the valid ones', async () => {
    const garbage = fc
      .oneof(
        fc.string(),
        fc.jsonValue().map((v) => JSON.stringify(v)),
      )
      .map((line) => line.replace(/\n/g, ' '));
    await fc.assert(
      fc.asyncProperty(fc.array(garbage, { maxLength: 8 }), async (lines) => {
        const stream = new PassThrough();
        const transport = new DuplexTransport(stream, { lingerMs: 10 });
        const messages: JSONRPCMessage[] = [];
        const errors: unknown[] = [];
        transport.onmessage = (message) => messages.push(message);
        transport.onerror = (error) => errors.push(error);
        await transport.start();
        const valid: JSONRPCMessage = { jsonrpc: '2.0', id: 1, method: 'ping' };
        stream.write(`${lines.join('\n')}\n${JSON.stringify(valid)}\n`);
        await new Promise((resolve) => setImmediate(resolve));
        expect(messages.at(-1)).toEqual(valid);
        for (const error of errors) expect(error).toMatchObject({ code: McpErrorCode.BAD_MESSAGE });
        await transport.close();
        stream.destroy();
      }),
      propertyOptions(200),
    );
  });
});
