#!/usr/bin/env node
// pilot-mcp: the Pilot tool server as its own program (what `pilotctl mcp tools` runs), for agent
// harnesses that start an MCP server by command.
import { parseArgs } from 'node:util';
import { harnessConfig } from './harness-config.js';
import { runToolServer } from './run-tool-server.js';

const USAGE = `usage: pilot-mcp [--socket PATH] [--http [HOST:]PORT] [--read-only] [--max-payload BYTES] [--max-file BYTES]
       pilot-mcp --print-config claude|cursor|vscode|generic [--http …] [--read-only]

An MCP server exposing the local Pilot daemon as tools (stdio by default; --http serves Streamable
HTTP at http://HOST:PORT/mcp, HOST 127.0.0.1 unless given). PILOT_SOCKET / PILOT_HOME as for pilotctl.`;

function bytes(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1)
    throw new Error(`--${name} takes a positive number of bytes`);
  return value;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      socket: { type: 'string' },
      home: { type: 'string' },
      http: { type: 'string' },
      'read-only': { type: 'boolean' },
      'print-config': { type: 'string' },
      'max-payload': { type: 'string' },
      'max-file': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const socket = values.socket ?? process.env.PILOT_SOCKET;
  if (values['print-config'] !== undefined) {
    const args = [
      ...(values['read-only'] === true ? ['--read-only'] : []),
      ...(values.socket ? ['--socket', values.socket] : []),
    ];
    const env: Record<string, string> = {};
    if (values.socket === undefined && process.env.PILOT_SOCKET) env.PILOT_SOCKET = process.env.PILOT_SOCKET;
    if (process.env.PILOT_HOME) env.PILOT_HOME = process.env.PILOT_HOME;
    const http = values.http;
    const url =
      http === undefined
        ? undefined
        : `http://${/^\d+$/.test(http) ? `127.0.0.1:${http}` : http.startsWith(':') ? `127.0.0.1${http}` : http}/mcp`;
    process.stdout.write(
      `${JSON.stringify(harnessConfig(values['print-config'], { command: 'pilot-mcp', args, env, ...(url === undefined ? {} : { url }) }), null, 2)}\n`,
    );
    return 0;
  }
  const stop = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop.abort());
  const maxPayload = bytes(values['max-payload'], 'max-payload');
  const maxFile = bytes(values['max-file'], 'max-file');
  await runToolServer({
    ...(socket === undefined || socket === '' ? {} : { socketPath: socket }),
    ...(values.home === undefined ? {} : { home: values.home }),
    ...(values.http === undefined ? {} : { http: values.http }),
    readOnly: values['read-only'] === true,
    limits: {
      ...(maxPayload === undefined ? {} : { maxPayloadBytes: maxPayload }),
      ...(maxFile === undefined ? {} : { maxFileBytes: maxFile }),
    },
    input: process.stdin,
    output: process.stdout,
    note: (text) => process.stderr.write(`${text}\n`),
    signal: stop.signal,
  });
  return 0;
}

main().then(
  (status) => {
    process.exitCode = status;
    // Lingering stream timers must not keep the server alive once its client is gone.
    setTimeout(() => process.exit(status), 100).unref();
  },
  (error: unknown) => {
    process.stderr.write(`pilot-mcp: ${(error as Error).message}\n${USAGE}\n`);
    process.exit(2);
  },
);
