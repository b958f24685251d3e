import { Duplex, PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { DuplexTransport } from '../../src/index.js';

export const WEATHER_SERVER: string = fileURLToPath(
  new URL('../fixtures/weather-server.mjs', import.meta.url),
);

export function newClient(name = 'test-client'): Client {
  return new Client({ name, version: '1.0.0' });
}

/** The text of a tool result's first content item. */
export function textOf(result: unknown): string {
  const first = (result as CallToolResult).content[0];
  if (first?.type !== 'text')
    throw new Error(`expected a text result, got ${JSON.stringify(result).slice(0, 200)}`);
  return first.text;
}

/** A stdio-like pair for `connectMcp`: what it reads (input), writes (output), and the client's end. */
export function stdioPair(): { input: PassThrough; output: PassThrough; clientSide: Duplex } {
  const input = new PassThrough();
  const output = new PassThrough();
  const clientSide = Duplex.from({ readable: output, writable: input });
  return { input, output, clientSide };
}

export async function connectClient(stream: Duplex, name?: string): Promise<Client> {
  const client = newClient(name);
  await client.connect(new DuplexTransport(stream));
  return client;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function waitFor(check: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
