import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, describe, expect, it } from 'vitest';
import { ok, PILOTCTL_BIN } from './pilotctl-process.js';

// `pilotctl mcp tools` is the tool server of @pilot/mcp/tools behind pilotctl's flags and socket
// resolution (the daemon-backed tests are in packages/mcp/test/tools.int.test.ts).
const dir = mkdtempSync(join(tmpdir(), 'pilotctl-mcp-tools-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pilotctl mcp tools', () => {
  it('--print-config prints the snippet that starts it', async () => {
    const data = await ok(
      ['mcp', 'tools', '--print-config', 'claude', '--read-only', '--socket', '/tmp/x.sock'],
      {
        PILOT_HOME: dir,
      },
    );
    expect(data.config).toEqual({
      mcpServers: {
        pilot: {
          command: 'pilotctl',
          args: ['mcp', 'tools', '--read-only', '--socket', '/tmp/x.sock'],
          env: { PILOT_HOME: dir },
        },
      },
    });
  });

  it('serves MCP on stdio: an SDK client lists the tools; with no daemon a call is a not_running result', async () => {
    const { NODE_CHANNEL_FD: _fd, NODE_CHANNEL_SERIALIZATION_MODE: _mode, ...env } = process.env;
    const client = new Client({ name: 'cli-test', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [PILOTCTL_BIN, 'mcp', 'tools', '--socket', join(dir, 'none.sock')],
        env: { ...env, PILOT_HOME: dir } as Record<string, string>,
        stderr: 'ignore',
      }),
    );
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain('pilot_call_remote_tool');
      const result = (await client.callTool({ name: 'pilot_info', arguments: {} })) as CallToolResult;
      expect(result.isError).toBe(true);
      const first = result.content[0];
      expect(JSON.parse(first?.type === 'text' ? first.text : '{}')).toMatchObject({ error: 'not_running' });
    } finally {
      await client.close();
    }
  });
});
