import { McpErrorCode, mcpError } from './errors.js';

/** Splits a byte stream into newline-terminated lines (without the `\n` or a trailing `\r`). */
export class LineSplitter {
  private readonly maxLine: number;
  private parts: Buffer[] = [];
  private size = 0;

  constructor(maxLine: number) {
    this.maxLine = maxLine;
  }

  /** The complete lines in `chunk` and what came before it; throws MCP_BAD_MESSAGE past the limit. */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    let index = chunk.indexOf(10);
    while (index !== -1) {
      const head = chunk.subarray(start, index);
      const line = this.parts.length === 0 ? head : Buffer.concat([...this.parts, head]);
      this.parts = [];
      this.size = 0;
      lines.push(line.toString('utf8').replace(/\r$/, ''));
      start = index + 1;
      index = chunk.indexOf(10, start);
    }
    if (start < chunk.length) {
      this.size += chunk.length - start;
      if (this.size > this.maxLine) {
        this.parts = [];
        this.size = 0;
        throw mcpError(McpErrorCode.BAD_MESSAGE, `line longer than ${this.maxLine} bytes`);
      }
      this.parts.push(chunk.subarray(start));
    }
    return lines;
  }
}
