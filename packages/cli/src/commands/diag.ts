import type { Address } from '@pilot/wire';
import { formatAddress, WellKnownPort } from '@pilot/wire';
import { parseNumber } from '../argv.js';
import { type Command, PEER_ERRORS } from '../command.js';
import type { Context } from '../context.js';
import { cliError } from '../errors.js';
import { finish, readBytes, withTimeout, writeAll } from '../stream-io.js';
import { elapsedMs, sleep } from '../time.js';

const TARGET = { name: 'target', help: 'address, node ID or hostname' } as const;

/** The tunnel's path to `node` (Info's peer_list): direct, relay (beacon over UDP) or relay-tls. */
async function pathTo(context: Context, node: number): Promise<'direct' | 'relay' | 'relay-tls'> {
  const info = await context.info();
  return peerPath(info.peer_list?.find((entry) => entry.node_id === node));
}

/** A peer's path; daemons without `path` (older, or the reference's info) say only relay or not. */
export function peerPath(
  peer: { relay?: boolean; path?: string } | undefined,
): 'direct' | 'relay' | 'relay-tls' {
  if (peer?.path === 'relay-tls' || peer?.path === 'relay' || peer?.path === 'direct') return peer.path;
  return peer?.relay === true ? 'relay' : 'direct';
}

function average(values: readonly number[]): number {
  return values.length === 0
    ? 0
    : Math.round((values.reduce((a, b) => a + b, 0) / values.length) * 100) / 100;
}

/** One echo round trip of `payload` on an open echo stream, in ms. */
async function echoRtt(
  stream: import('node:stream').Duplex,
  payload: Buffer,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<number> {
  const started = performance.now();
  await writeAll(stream, payload);
  const back = await withTimeout(
    readBytes(stream, payload.length),
    timeoutMs,
    'waiting for the echo',
    signal,
  );
  if (!back.equals(payload))
    throw cliError('connection_failed', 'the echo came back different (or the stream closed)');
  return elapsedMs(started);
}

const ping: Command = {
  name: 'ping',
  summary: 'time round trips to a peer through its echo service (port 7)',
  args: [TARGET],
  flags: {
    count: { type: 'number', help: 'how many pings', default: '4' },
    timeout: { type: 'duration', help: 'per ping (and for the dial)', default: '30s' },
    interval: { type: 'duration', help: 'pause between pings', default: '1s' },
  },
  fields: [
    'target',
    'address',
    'node_id',
    'sent',
    'replies',
    'avg_ms',
    'min_ms',
    'max_ms',
    'path',
    'results',
  ],
  errors: PEER_ERRORS,
  async run(context, args) {
    const target = args.need('target');
    const count = args.number('count', 4, { min: 1 });
    const timeoutMs = args.duration('timeout', 30_000);
    const intervalMs = args.duration('interval', 1000);
    const address = await context.resolve(target);
    const text = formatAddress(address);
    const stream = await (await context.driver()).dial(address, WellKnownPort.ECHO, { timeoutMs });
    const results: Array<{ seq: number; bytes: number; rtt_ms?: number; error?: string }> = [];
    try {
      for (let seq = 1; seq <= count && !context.io.signal.aborted; seq++) {
        const payload = Buffer.from(`ping-${seq}`);
        try {
          const rtt = await echoRtt(stream, payload, timeoutMs, context.io.signal);
          results.push({ seq, bytes: payload.length, rtt_ms: rtt });
          context.out.line(`reply from ${text} · seq ${seq} · ${rtt.toFixed(2)} ms`);
        } catch (error) {
          results.push({ seq, bytes: payload.length, error: (error as Error).message });
          context.out.line(`no reply from ${text} · seq ${seq}: ${(error as Error).message}`);
          break;
        }
        if (seq < count) await sleep(intervalMs, context.io.signal);
      }
    } finally {
      finish(stream);
    }
    const rtts = results.flatMap((result) => (result.rtt_ms === undefined ? [] : [result.rtt_ms]));
    if (rtts.length === 0)
      throw cliError(
        'timeout',
        `no reply from ${text}`,
        'check "pilotctl peers" and that the peer runs its echo service',
      );
    const path = await pathTo(context, address.node);
    const data = {
      target,
      address: text,
      node_id: address.node,
      sent: results.length,
      replies: rtts.length,
      avg_ms: average(rtts),
      min_ms: Math.min(...rtts),
      max_ms: Math.max(...rtts),
      path,
      results,
    };
    return {
      data,
      human: `${data.replies}/${data.sent} replies from ${text} (${path}) · avg ${data.avg_ms} ms, min ${data.min_ms}, max ${data.max_ms}`,
    };
  },
};

const traceroute: Command = {
  name: 'traceroute',
  summary: 'connection setup time and three round-trip samples to a peer, and whether the path is relayed',
  args: [TARGET],
  flags: { timeout: { type: 'duration', help: 'per step', default: '30s' } },
  fields: ['target', 'address', 'node_id', 'setup_ms', 'rtt_ms', 'avg_ms', 'path', 'endpoint'],
  errors: PEER_ERRORS,
  async run(context, args) {
    const target = args.need('target');
    const timeoutMs = args.duration('timeout', 30_000);
    const address: Address = await context.resolve(target);
    const started = performance.now();
    const stream = await (await context.driver()).dial(address, WellKnownPort.ECHO, { timeoutMs });
    const setupMs = elapsedMs(started);
    const rtts: number[] = [];
    try {
      for (let seq = 1; seq <= 3; seq++) {
        rtts.push(await echoRtt(stream, Buffer.from(`trace-${seq}`), timeoutMs, context.io.signal));
      }
    } finally {
      finish(stream);
    }
    const info = await context.info();
    const peer = info.peer_list?.find((entry) => entry.node_id === address.node);
    const path = peerPath(peer);
    const data = {
      target,
      address: formatAddress(address),
      node_id: address.node,
      setup_ms: setupMs,
      rtt_ms: rtts,
      avg_ms: average(rtts),
      path,
      endpoint: peer?.endpoint ?? '',
    };
    return {
      data,
      human: [
        `1  this node → ${path === 'relay' ? 'beacon relay → ' : path === 'relay-tls' ? 'TLS relay → ' : ''}${data.address}${data.endpoint ? ` (${data.endpoint})` : ''}`,
        `   setup ${setupMs} ms · rtt ${rtts.map((rtt) => `${rtt} ms`).join(', ')}`,
      ].join('\n'),
    };
  },
};

const BENCH_WRITE = 65_536;

const bench: Command = {
  name: 'bench',
  summary: 'throughput to a peer: send size_mb MiB to its echo service and read it all back',
  args: [TARGET, { name: 'size_mb', help: 'MiB to send (default 1)', optional: true }],
  flags: { timeout: { type: 'duration', help: 'give up after this long', default: '120s' } },
  fields: [
    'target',
    'address',
    'bytes',
    'seconds',
    'mb_per_s',
    'sent_bytes',
    'recv_bytes',
    'send_duration_ms',
    'total_duration_ms',
    'send_mbps',
    'total_mbps',
  ],
  errors: PEER_ERRORS,
  async run(context, args) {
    const target = args.need('target');
    const sizeMb = parseNumber(args.arg('size_mb') ?? '1', 'size_mb', {
      min: 0.001,
      max: 4096,
      integer: false,
    });
    const bytes = Math.round(sizeMb * 1_048_576);
    const timeoutMs = args.duration('timeout', 120_000);
    const address = await context.resolve(target);
    const stream = await (await context.driver()).dial(address, WellKnownPort.ECHO, { timeoutMs });
    const block = Buffer.alloc(BENCH_WRITE, 0x5a);
    let received = 0;
    const started = performance.now();
    let sendMs = 0;
    try {
      const reading = new Promise<void>((resolve, reject) => {
        stream.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received >= bytes) resolve();
        });
        stream.once('error', reject);
        stream.once('end', () =>
          received >= bytes
            ? resolve()
            : reject(
                cliError('connection_failed', `the echo stream ended after ${received} of ${bytes} bytes`),
              ),
        );
      });
      const writing = (async () => {
        for (let sent = 0; sent < bytes; sent += BENCH_WRITE) {
          await writeAll(stream, block.subarray(0, Math.min(BENCH_WRITE, bytes - sent)));
        }
        sendMs = elapsedMs(started);
      })();
      await withTimeout(Promise.all([writing, reading]), timeoutMs, 'bench', context.io.signal);
    } finally {
      finish(stream);
    }
    const totalMs = elapsedMs(started);
    const seconds = totalMs / 1000;
    const mbPerS = Math.round((bytes / 1_000_000 / seconds) * 100) / 100;
    const data = {
      target,
      address: formatAddress(address),
      bytes,
      seconds: Math.round(seconds * 1000) / 1000,
      mb_per_s: mbPerS,
      sent_bytes: bytes,
      recv_bytes: received,
      send_duration_ms: sendMs,
      total_duration_ms: totalMs,
      send_mbps: Math.round(((bytes * 8) / 1_000_000 / (sendMs / 1000)) * 100) / 100,
      total_mbps: Math.round(((bytes * 8) / 1_000_000 / seconds) * 100) / 100,
    };
    return { data, human: `${bytes} bytes echoed by ${data.address} in ${data.seconds} s · ${mbPerS} MB/s` };
  },
};

export const diagCommands: readonly Command[] = [ping, traceroute, bench];
