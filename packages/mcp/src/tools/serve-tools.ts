import { randomUUID } from 'node:crypto';
import {
  createServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { PilotError } from '@pilot/wire';
import { McpErrorCode } from '../errors.js';
import type { PilotToolHost } from './tool-host.js';

/**
 * Serves the host over stdio (the MCP client spawned this process): resolves when the client
 * closes its end (stdin ends) or `signal` aborts.
 */
export async function serveToolsStdio(
  host: PilotToolHost,
  io: { input: Readable; output: Writable; signal?: AbortSignal },
): Promise<void> {
  const server = host.createServer();
  const transport = new StdioServerTransport(io.input, io.output);
  const ended = new Promise<void>((resolve) => {
    transport.onclose = resolve;
    io.input.once('end', resolve);
    io.input.once('close', resolve);
    if (io.signal?.aborted === true) resolve();
    io.signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  await server.connect(transport);
  await ended;
  await server.close().catch(() => undefined);
}

export interface ToolsHttpOptions {
  /** Default 127.0.0.1: a tool server that reaches the daemon must not be offered to the LAN by accident. */
  readonly host?: string;
  /** 0 lets the OS pick (see `port` of the handle). */
  readonly port: number;
  /** Largest request body accepted, in bytes (default 4 MiB). */
  readonly maxBodyBytes?: number;
}

export interface ToolsHttpHandle {
  /** http://host:port/mcp */
  readonly url: string;
  readonly port: number;
  /** Open MCP sessions. */
  readonly sessions: number;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

function reply(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
}

function readBody(req: IncomingMessage, max: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        reject(new PilotError(McpErrorCode.BAD_MESSAGE, `request body over ${max} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new PilotError(McpErrorCode.BAD_MESSAGE, 'request body is not JSON'));
      }
    });
    req.on('error', reject);
  });
}

/**
 * Serves the host over MCP Streamable HTTP at `/mcp`: a session (and an SDK Server) per client,
 * server-to-client notifications on the GET stream. Host headers other than the bound address are
 * refused (DNS rebinding: a web page must not reach the agent's daemon through the browser).
 */
export async function serveToolsHttp(
  host: PilotToolHost,
  options: ToolsHttpOptions,
): Promise<ToolsHttpHandle> {
  const bindHost = options.host ?? '127.0.0.1';
  const maxBody = options.maxBodyBytes ?? 4 * 1024 * 1024;
  const transports = new Map<string, StreamableHTTPServerTransport>();
  let allowedHosts: string[] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/mcp') {
      reply(res, 404, 'not found: the MCP endpoint is /mcp');
      return;
    }
    const sessionId = req.headers['mcp-session-id'];
    const existing = typeof sessionId === 'string' ? transports.get(sessionId) : undefined;
    if (req.method !== 'POST') {
      if (existing === undefined) {
        reply(res, 400, 'no such session');
        return;
      }
      await existing.handleRequest(req, res);
      return;
    }
    let body: unknown;
    try {
      body = await readBody(req, maxBody);
    } catch (error) {
      reply(res, (error as Error).message.includes('bytes') ? 413 : 400, (error as Error).message);
      return;
    }
    if (existing !== undefined) {
      await existing.handleRequest(req, res, body);
      return;
    }
    if (typeof sessionId === 'string' || !isInitializeRequest(body)) {
      reply(
        res,
        400,
        typeof sessionId === 'string' ? 'no such session' : 'the first request must be initialize',
      );
      return;
    }
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        transports.set(id, transport);
      },
      enableDnsRebindingProtection: LOOPBACK.has(bindHost),
      allowedHosts,
    });
    transport.onclose = () => {
      if (transport.sessionId !== undefined) transports.delete(transport.sessionId);
    };
    const server = host.createServer();
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  };

  const http: HttpServer = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => reply(res, 500, (error as Error).message));
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port, bindHost, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  const shown = bindHost.includes(':') ? `[${bindHost}]` : bindHost;
  allowedHosts = [`${shown}:${port}`, `localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`];
  return {
    url: `http://${shown}:${port}/mcp`,
    port,
    get sessions() {
      return transports.size;
    },
    async close() {
      for (const transport of [...transports.values()]) await transport.close().catch(() => undefined);
      transports.clear();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
