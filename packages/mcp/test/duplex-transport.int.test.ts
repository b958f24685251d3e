import { once } from 'node:events';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { isPilotError } from '@pilot/wire';
import { afterEach, describe, expect, it } from 'vitest';
import { DuplexTransport, McpErrorCode } from '../src/index.js';
import { createWeatherServer, forecast, payload } from './fixtures/weather-server.mjs';
import { connectClient, textOf, waitFor } from './helpers/mcp.js';

async function socketPair(): Promise<{ server: Server; a: Socket; b: Socket }> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const a = tcpConnect(address.port, '127.0.0.1');
  await once(a, 'connect');
  const [b] = await accepted;
  return { server, a, b };
}

describe('DuplexTransport over a TCP socket pair', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function pair() {
    const { server, a, b } = await socketPair();
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    cleanups.push(() => {
      a.destroy();
      b.destroy();
    });
    return { a, b };
  }

  it('carries an SDK client and an SDK server: list tools, call them', async () => {
    const { a, b } = await pair();
    const mcp = createWeatherServer();
    await mcp.connect(new DuplexTransport(b));
    const client = await connectClient(a);
    cleanups.push(() => client.close());

    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual([
      'fetch_data',
      'get_alerts',
      'get_forecast',
      'server_info',
    ]);
    const result = await client.callTool({ name: 'get_forecast', arguments: { city: 'Lisbon', days: 5 } });
    expect(JSON.parse(textOf(result))).toEqual({ city: 'Lisbon', days: forecast('Lisbon', 5) });
    const bad = await client.callTool({ name: 'get_forecast', arguments: { city: '' } });
    expect(bad.isError).toBe(true);
  });

  it('delivers large results intact with back-pressure, and many calls in parallel', async () => {
    const { a, b } = await pair();
    const mcp = createWeatherServer();
    await mcp.connect(new DuplexTransport(b));
    const client = await connectClient(a);
    cleanups.push(() => client.close());

    const big = await client.callTool({ name: 'fetch_data', arguments: { bytes: 4 * 1024 * 1024, seed: 7 } });
    expect(textOf(big)).toBe(payload(4 * 1024 * 1024, 7));
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, seed) =>
        client.callTool({ name: 'fetch_data', arguments: { bytes: 65536, seed } }),
      ),
    );
    for (const [seed, result] of results.entries()) expect(textOf(result)).toBe(payload(65536, seed));
  });

  it('reports a malformed line through onerror and keeps going', async () => {
    const { a, b } = await pair();
    const transport = new DuplexTransport(b);
    const errors: Error[] = [];
    const messages: unknown[] = [];
    transport.onerror = (error) => errors.push(error);
    transport.onmessage = (message) => messages.push(message);
    await transport.start();

    a.write('this is not json\n{"jsonrpc":"2.0","method":"x","id":"not-valid\n');
    a.write('{"no":"jsonrpc"}\n\n');
    a.write('{"jsonrpc":"2.0","id":1,"method":"ping"}\n');
    await waitFor(() => messages.length === 1, 10_000, 'the valid message');
    expect(messages).toEqual([{ jsonrpc: '2.0', id: 1, method: 'ping' }]);
    expect(errors.length).toBeGreaterThanOrEqual(3);
    for (const error of errors) expect(isPilotError(error, McpErrorCode.BAD_MESSAGE)).toBe(true);
    expect(transport.isClosed).toBe(false);
    await transport.close();
  });

  it('closes on a line beyond the size limit', async () => {
    const { a, b } = await pair();
    const transport = new DuplexTransport(b, { maxMessageSize: 1024 });
    const errors: Error[] = [];
    let closed = 0;
    transport.onerror = (error) => errors.push(error);
    transport.onclose = () => closed++;
    await transport.start();
    a.write('x'.repeat(4096));
    await waitFor(() => closed === 1, 10_000, 'close');
    expect(isPilotError(errors[0], McpErrorCode.BAD_MESSAGE)).toBe(true);
    // The transport ended its side: the peer sees EOF.
    a.resume();
    await waitFor(() => a.readableEnded, 10_000, 'EOF at the peer');
  });

  it('close() ends the stream, the peer sees onclose, and send afterwards fails', async () => {
    const { a, b } = await pair();
    const left = new DuplexTransport(a);
    const right = new DuplexTransport(b);
    let leftClosed = 0;
    let rightClosed = 0;
    left.onclose = () => leftClosed++;
    right.onclose = () => rightClosed++;
    await left.start();
    await right.start();
    await left.close();
    await left.close();
    await waitFor(() => rightClosed === 1, 10_000, 'the peer to close');
    expect(leftClosed).toBe(1);
    await expect(left.send({ jsonrpc: '2.0', method: 'x' })).rejects.toMatchObject({
      code: McpErrorCode.CLOSED,
    });
    await expect(left.start()).rejects.toMatchObject({ code: McpErrorCode.ALREADY_STARTED });
    await waitFor(() => a.destroyed && b.destroyed, 10_000, 'both sockets closed');
  });
});
