// The benchmark's server side: the same SDK McpServer (the weather fixture, with its fetch_data tool)
// reachable two ways at once: over Pilot streams (UdpTransport, virtual port 1010) and over the
// SDK's Streamable HTTP transport on HTTPS (a self-signed certificate made with openssl at start).
// Prints one JSON line {event:"ready", …}; exits when stdin ends.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { Driver } from '@pilot/daemon/driver';
import { UdpTransport } from '@pilot/transport/node';
import { formatAddress } from '@pilot/wire';
import { DEFAULT_MCP_PORT, DuplexTransport } from '../dist/index.js';
import { createWeatherServer } from '../test/fixtures/weather-server.mjs';
import { startDaemonProcess } from './daemon-process.mjs';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    'alt-ip': { type: 'string', default: '127.0.0.1' },
    // SYNs admitted per second from one source; the reference's 10/s throttles 50 parallel fresh streams.
    'syn-rate': { type: 'string' },
    // direct: a UdpTransport in this process; daemon: a pilot-daemon child, reached through the driver.
    pilot: { type: 'string', default: 'direct' },
    registry: { type: 'string' },
    beacon: { type: 'string' },
  },
});

export const SERVER_ADDRESS = { network: 0, node: 0xb };

function selfSignedCertificate(altIp) {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-bench-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        `subjectAltName=DNS:localhost,IP:127.0.0.1,IP:${altIp}`,
      ],
      { stdio: 'ignore' },
    );
    return {
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
      cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve(text.length === 0 ? undefined : JSON.parse(text));
      } catch (error) {
        reject(error);
      }
    });
    req.on('error', reject);
  });
}

// HTTPS: stateless Streamable HTTP, a fresh McpServer per request (the SDK's stateless pattern).
const { key, cert } = selfSignedCertificate(values['alt-ip']);
const https = createServer({ key, cert }, async (req, res) => {
  try {
    const body = req.method === 'POST' ? await readBody(req) : undefined;
    const server = createWeatherServer();
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  } catch (error) {
    if (!res.headersSent) res.writeHead(500).end(String(error));
  }
});
https.keepAliveTimeout = 60_000;
await new Promise((resolve) => https.listen(0, values.host, resolve));

// Pilot: every accepted stream is an MCP session with its own McpServer.
function serveSession(stream) {
  stream.on('error', () => {});
  void createWeatherServer().connect(new DuplexTransport(stream));
}
let pilotInfo;
let stopPilot;
if (values.pilot === 'daemon') {
  const daemon = await startDaemonProcess({
    registry: values.registry,
    beacon: values.beacon,
    name: 'server',
  });
  const driver = await Driver.connect(daemon.socket);
  const listener = driver.listen(DEFAULT_MCP_PORT);
  await listener.ready;
  void (async () => {
    for await (const stream of listener) serveSession(stream);
  })().catch(() => {});
  pilotInfo = {
    mode: 'daemon',
    address: daemon.ready.address,
    nodeId: daemon.ready.node_id,
    port: DEFAULT_MCP_PORT,
  };
  stopPilot = async () => {
    await listener.close();
    await driver.close();
    await daemon.stop();
  };
} else {
  const synRate = values['syn-rate'] === undefined ? {} : { synRatePerSource: Number(values['syn-rate']) };
  const pilot = await UdpTransport.create({
    host: values.host,
    port: 0,
    localAddress: SERVER_ADDRESS,
    ...synRate,
  });
  pilot.listen(DEFAULT_MCP_PORT);
  pilot.on('connection', serveSession);
  pilotInfo = {
    mode: 'direct',
    address: formatAddress(SERVER_ADDRESS),
    udpPort: pilot.udpAddress.port,
    port: DEFAULT_MCP_PORT,
  };
  stopPilot = () => pilot.close();
}

process.stdout.write(
  `${JSON.stringify({ event: 'ready', pilot: pilotInfo, https: { port: https.address().port }, cert, pid: process.pid })}\n`,
);

async function stop() {
  https.closeAllConnections();
  https.close();
  await stopPilot();
  process.exit(0);
}
process.stdin.on('end', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
