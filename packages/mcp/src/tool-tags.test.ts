import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_MCP_TAG_LENGTH, mcpToolTags, toTag } from './tool-tags.js';

const VALID = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

describe('mcpToolTags', () => {
  it('turns tool names into directory tags', () => {
    expect(
      mcpToolTags(['get_forecast', 'Get-Alerts', { name: 'fetch.data' }, 'server_info'], {
        leading: ['MCP'],
      }),
    ).toEqual(['mcp', 'get-forecast', 'get-alerts', 'fetch-data', 'server-info']);
  });

  it('drops duplicates and empty names, truncates, and caps the count', () => {
    expect(mcpToolTags(['a_b', 'A-B', '___', '', '🙂'])).toEqual(['a-b']);
    expect(toTag(`${'x'.repeat(31)}_y_z`)).toBe('x'.repeat(31));
    expect(mcpToolTags(Array.from({ length: 30 }, (_, i) => `tool_${i}`))).toHaveLength(10);
    expect(mcpToolTags(['a', 'b', 'c'], { max: 2 })).toEqual(['a', 'b']);
  });

  it('only ever produces valid tags', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 80 }), { maxLength: 40 }), (names) => {
        const tags = mcpToolTags(names);
        expect(tags.length).toBeLessThanOrEqual(10);
        expect(new Set(tags).size).toBe(tags.length);
        for (const tag of tags) {
          expect(tag).toMatch(VALID);
          expect(tag.length).toBeLessThanOrEqual(MAX_MCP_TAG_LENGTH);
          expect(tag).not.toContain('--');
        }
      }),
    );
  });
});
