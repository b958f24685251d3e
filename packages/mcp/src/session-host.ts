import type { Duplex } from 'node:stream';

/** Runs MCP sessions arriving as streams against a stdio server (one process each, or shared). */
export interface SessionHost {
  /** Serves one session; resolves once it is over and its resources are released. Never rejects. */
  serve(stream: Duplex, fields: Record<string, unknown>): Promise<void>;
  /** Ends every session and stops the server processes. */
  close(): Promise<void>;
}
