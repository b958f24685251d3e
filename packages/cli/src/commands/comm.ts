import { type Address, broadcastAddress, formatAddress } from '@pilot/wire';
import { parseNumber, parsePort } from '../argv.js';
import { type Command, DAEMON_ERRORS, PEER_ERRORS } from '../command.js';
import { usageError } from '../errors.js';
import { finish, printable, readChunk, requestReply, withTimeout } from '../stream-io.js';

const TARGET = { name: 'target', help: 'address, node ID or hostname' } as const;
const TIMEOUT = { type: 'duration', help: 'give up after this long', default: '30s' } as const;
const LINGER_MS = 1000;

const connect: Command = {
  name: 'connect',
  summary: "open a stream to a peer's port: an interactive stdio session, or --message and its reply",
  args: [TARGET, { name: 'port', help: 'virtual port', optional: true }],
  flags: { message: { type: 'string', help: 'send this, print the reply, close' }, timeout: TIMEOUT },
  fields: ['target', 'address', 'port', 'sent', 'response', 'encoding'],
  errors: PEER_ERRORS,
  async run(context, args) {
    const target = args.need('target');
    const port = parsePort(args.arg('port') ?? '1000');
    const timeoutMs = args.duration('timeout', 30_000);
    const address = await context.resolve(target);
    const driver = await context.driver();
    const stream = await driver.dial(address, port, { timeoutMs });
    const message = args.string('message');
    if (message === undefined) {
      if (context.out.json)
        throw usageError('connect without --message is interactive; add --message for --json');
      context.out.note(`connected to ${formatAddress(address)}:${port} (Ctrl-D ends)`);
      // IPC Close ends both directions, so input's end does not close at once: replies still in
      // flight are printed until the peer is quiet for LINGER_MS (or closes).
      context.io.stdin.pipe(stream, { end: false });
      let linger: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        const quietThen = (): void => {
          if (linger !== undefined) linger.refresh();
          else linger = setTimeout(resolve, LINGER_MS);
        };
        stream.on('data', (chunk: Buffer) => {
          context.out.raw(chunk);
          if (linger !== undefined) linger.refresh();
        });
        context.io.stdin.once('end', quietThen);
        stream.once('end', resolve);
        stream.once('close', resolve);
        stream.once('error', resolve);
        context.io.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      clearTimeout(linger);
      context.io.stdin.unpipe(stream);
      finish(stream);
      return { data: { target, address: formatAddress(address), port }, human: '' };
    }
    try {
      const response = await requestReply(stream, Buffer.from(message), timeoutMs, context.io.signal);
      return {
        data: {
          target,
          address: formatAddress(address),
          port,
          sent: message,
          response: response.text,
          encoding: response.encoding,
        },
        human: response.text,
      };
    } finally {
      finish(stream);
    }
  },
};

const send: Command = {
  name: 'send',
  summary: 'dial a port, write --data, print the first reply',
  args: [TARGET, { name: 'port', help: 'virtual port' }],
  flags: { data: { type: 'string', help: 'what to send' }, timeout: TIMEOUT },
  fields: ['target', 'address', 'port', 'sent_bytes', 'response', 'encoding'],
  errors: PEER_ERRORS,
  async run(context, args) {
    const target = args.need('target');
    const port = parsePort(args.need('port'));
    const data = args.string('data');
    if (data === undefined) throw usageError('send needs --data');
    const timeoutMs = args.duration('timeout', 30_000);
    const address = await context.resolve(target);
    const stream = await (await context.driver()).dial(address, port, { timeoutMs });
    try {
      const bytes = Buffer.from(data);
      const response = await requestReply(stream, bytes, timeoutMs, context.io.signal);
      return {
        data: {
          target,
          address: formatAddress(address),
          port,
          sent_bytes: bytes.length,
          response: response.text,
          encoding: response.encoding,
        },
        human: response.replied ? response.text : `sent ${bytes.length} bytes (no reply)`,
      };
    } finally {
      finish(stream);
    }
  },
};

const recv: Command = {
  name: 'recv',
  summary: 'bind a port and print what connections send (one read per connection)',
  args: [{ name: 'port', help: 'virtual port to bind' }],
  flags: { count: { type: 'number', help: 'stop after this many messages', default: '1' }, timeout: TIMEOUT },
  fields: ['port', 'messages', 'timeout'],
  errors: [...DAEMON_ERRORS, 'already_exists', 'timeout'],
  async run(context, args) {
    const port = parsePort(args.need('port'));
    const count = args.number('count', 1, { min: 1 });
    const timeoutMs = args.duration('timeout', 30_000);
    const listener = (await context.driver()).listen(port);
    const bound = await listener.ready;
    context.out.note(`listening on port ${bound}`);
    const messages: Array<Record<string, unknown>> = [];
    const collect = async (): Promise<void> => {
      for await (const connection of listener) {
        const chunk = await readChunk(connection);
        connection.end();
        if (chunk === undefined) continue;
        const { text, encoding } = printable(chunk);
        const message = {
          seq: messages.length + 1,
          port: bound,
          from: connection.remoteAddress,
          from_port: connection.remotePort,
          data: text,
          encoding,
          bytes: chunk.length,
        };
        messages.push(message);
        context.out.line(`${connection.remoteAddress}:${connection.remotePort} ${text}`);
        if (messages.length >= count) return;
      }
    };
    let timedOut = false;
    try {
      await withTimeout(collect(), timeoutMs, 'recv', context.io.signal);
    } catch (error) {
      if (messages.length === 0) throw error;
      timedOut = true;
    } finally {
      await listener.close();
    }
    return { data: { port: bound, messages, timeout: timedOut }, human: '' };
  },
};

const listen: Command = {
  name: 'listen',
  summary: 'print the datagrams that arrive on a port',
  args: [{ name: 'port', help: 'virtual port' }],
  flags: {
    count: { type: 'number', help: 'stop after this many datagrams' },
    timeout: { type: 'duration', help: 'stop after this long (default: until Ctrl-C)' },
  },
  fields: ['port', 'datagrams', 'count'],
  errors: DAEMON_ERRORS,
  async run(context, args) {
    const port = parsePort(args.need('port'));
    const limit = args.has('count') ? args.number('count', 1, { min: 1 }) : Number.POSITIVE_INFINITY;
    const timeoutMs = args.has('timeout') ? args.duration('timeout', 0) : undefined;
    const stream = (await context.driver()).datagrams({ port });
    const received: Array<Record<string, unknown>> = [];
    const stop = new AbortController();
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => stop.abort(), timeoutMs);
    const onAbort = (): void => stream.close();
    stop.signal.addEventListener('abort', onAbort);
    context.io.signal.addEventListener('abort', onAbort, { once: true });
    context.out.note(`listening for datagrams on port ${port}`);
    try {
      for await (const datagram of stream) {
        const { text, encoding } = printable(datagram.data);
        received.push({
          source: datagram.source,
          source_port: datagram.sourcePort,
          port: datagram.port,
          data: text,
          encoding,
          bytes: datagram.data.length,
        });
        context.out.line(`${datagram.source}:${datagram.sourcePort} ${text}`);
        if (received.length >= limit) break;
      }
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      context.io.signal.removeEventListener('abort', onAbort);
      stream.close();
    }
    return { data: { port, datagrams: received, count: received.length }, human: '' };
  },
};

const sendDatagram: Command = {
  name: 'send-datagram',
  summary: "send one datagram (unreliable, no reply) to a peer's port",
  args: [TARGET, { name: 'port', help: 'virtual port' }],
  flags: { data: { type: 'string', help: 'what to send' } },
  fields: ['target', 'address', 'port', 'bytes'],
  errors: PEER_ERRORS,
  async run(context, args) {
    const target = args.need('target');
    const port = parsePort(args.need('port'));
    const data = args.string('data');
    if (data === undefined) throw usageError('send-datagram needs --data');
    const address = await context.resolve(target);
    await (await context.driver()).sendTo(address, port, Buffer.from(data));
    return {
      data: { target, address: formatAddress(address), port, bytes: Buffer.byteLength(data) },
      human: `sent ${Buffer.byteLength(data)} bytes`,
    };
  },
};

const broadcast: Command = {
  name: 'broadcast',
  summary: 'send a datagram to every member of a network (not the backbone, network 0)',
  args: [
    { name: 'network', help: 'network ID' },
    { name: 'message', help: 'the text' },
  ],
  flags: { port: { type: 'number', help: 'virtual port', default: '1000' } },
  fields: ['network', 'address', 'port', 'bytes'],
  errors: [...DAEMON_ERRORS, 'not_found', 'unavailable'],
  async run(context, args) {
    const network = parseNumber(args.need('network'), 'network', { min: 1, max: 0xffff });
    const port = args.number('port', 1000, { min: 0, max: 65_535 });
    const message = args.need('message');
    const address: Address = broadcastAddress(network);
    await (await context.driver()).sendTo(address, port, Buffer.from(message));
    return {
      data: { network, address: formatAddress(address), port, bytes: Buffer.byteLength(message) },
      human: `broadcast ${Buffer.byteLength(message)} bytes to network ${network}`,
    };
  },
};

export const commCommands: readonly Command[] = [connect, send, recv, listen, sendDatagram, broadcast];
