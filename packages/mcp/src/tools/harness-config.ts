import { PilotError } from '@pilot/wire';
import { McpErrorCode } from '../errors.js';

export const HARNESSES = ['claude', 'cursor', 'vscode', 'generic'] as const;
export type Harness = (typeof HARNESSES)[number];

export interface HarnessServer {
  /** The program the harness starts (on the PATH after `npm run setup`), e.g. pilot-mcp. */
  readonly command: string;
  readonly args: readonly string[];
  /** Environment the server needs (PILOT_SOCKET, PILOT_HOME), when not the defaults. */
  readonly env?: Readonly<Record<string, string>>;
  /** With --http: the harness connects to this URL instead of starting a process. */
  readonly url?: string;
}

/**
 * The JSON snippet that adds the tool server to an agent harness, named "pilot": Claude (Desktop
 * and Code) and Cursor read `mcpServers`, VS Code reads `servers` with a `type`. Printed only:
 * nothing here writes another program's files.
 */
export function harnessConfig(harness: string, server: HarnessServer): Record<string, unknown> {
  if (!(HARNESSES as readonly string[]).includes(harness))
    throw new PilotError(
      McpErrorCode.INVALID_ARGUMENT,
      `--print-config takes ${HARNESSES.join(', ')}, not "${harness}"`,
    );
  const env =
    server.env !== undefined && Object.keys(server.env).length > 0 ? { env: { ...server.env } } : {};
  const stdio = { command: server.command, args: [...server.args], ...env };
  const url = server.url;
  switch (harness as Harness) {
    case 'claude':
      return { mcpServers: { pilot: url === undefined ? stdio : { type: 'http', url } } };
    case 'cursor':
      return { mcpServers: { pilot: url === undefined ? stdio : { url } } };
    case 'vscode':
      return { servers: { pilot: url === undefined ? { type: 'stdio', ...stdio } : { type: 'http', url } } };
    default:
      return {
        name: 'pilot',
        ...(url === undefined ? { transport: 'stdio', ...stdio } : { transport: 'streamable-http', url }),
      };
  }
}
