export interface McpToolTagsOptions {
  /** Tags put first, before the tool names (e.g. `['mcp', 'weather']`); normalised the same way. */
  readonly leading?: readonly string[];
  /** Most tags returned (default 10, the directory's limit). */
  readonly max?: number;
}

/** Longest tag produced (the directory accepts 63; short tags keep searches readable). */
export const MAX_MCP_TAG_LENGTH = 32;

/** A tool name as a directory tag: lowercase, `[a-z0-9-]`, no leading/trailing/double hyphen, ≤ 32 chars. */
export function toTag(name: string): string | undefined {
  const tag = name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, MAX_MCP_TAG_LENGTH + 1)
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX_MCP_TAG_LENGTH)
    .replace(/-+$/, '');
  return tag.length > 0 ? tag : undefined;
}

/**
 * Directory tags that advertise an MCP server's tools, for `pilotctl mcp serve --tags`: each name
 * normalised by `toTag`, duplicates and empty results dropped, at most `max` (10) in all.
 */
export function mcpToolTags(
  tools: readonly (string | { readonly name: string })[],
  options: McpToolTagsOptions = {},
): string[] {
  const max = options.max ?? 10;
  const out: string[] = [];
  const names = [
    ...(options.leading ?? []),
    ...tools.map((tool) => (typeof tool === 'string' ? tool : tool.name)),
  ];
  for (const name of names) {
    if (out.length >= max) break;
    const tag = toTag(name);
    if (tag !== undefined && !out.includes(tag)) out.push(tag);
  }
  return out;
}
