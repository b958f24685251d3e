import { basename } from 'node:path';
import type { Duplex } from 'node:stream';
import {
  DataExchangeType,
  encodeFilePayload,
  encodeServiceEvent,
  encodeServiceFrame,
  FILE_NAME_MAX_BYTES,
  formatAddress,
  SERVICE_MAX_PAYLOAD,
  ServiceEventDecoder,
  type ServiceFrame,
  ServiceFrameDecoder,
  WellKnownPort,
} from '@pilot/wire';
import { type Command, PEER_ERRORS } from '../command.js';
import { cliError, usageError } from '../errors.js';
import { ProgressBar } from '../progress.js';
import { finish, printable, readChunk, withTimeout, writeAll } from '../stream-io.js';

const TARGET = { name: 'target', help: 'address, node ID or hostname' } as const;
const TIMEOUT = { type: 'duration', help: 'give up after this long', default: '30s' } as const;

const TYPES: Readonly<Record<string, number>> = {
  text: DataExchangeType.TEXT,
  binary: DataExchangeType.BINARY,
  json: DataExchangeType.JSON,
};

/** Reads service frames (the data-exchange replies) off a stream, one at a time. */
class FrameReader {
  readonly #stream: Duplex;
  readonly #decoder = new ServiceFrameDecoder();
  readonly #frames: ServiceFrame[] = [];

  constructor(stream: Duplex) {
    this.#stream = stream;
  }

  async next(): Promise<ServiceFrame | undefined> {
    while (this.#frames.length === 0) {
      const chunk = await readChunk(this.#stream);
      if (chunk === undefined) return undefined;
      this.#frames.push(...this.#decoder.push(chunk));
    }
    return this.#frames.shift();
  }
}

function ackText(frame: ServiceFrame | undefined): string {
  return frame === undefined ? '' : Buffer.from(frame.payload).toString('utf8');
}

function checkAck(ack: string): void {
  if (ack.startsWith('ERR'))
    throw cliError('connection_failed', `the peer refused the data: ${ack}`, "see the peer's daemon log");
}

const sendMessage: Command = {
  name: 'send-message',
  summary: "send a typed message to a peer's data-exchange service (port 1001); it lands in the peer's inbox",
  args: [TARGET],
  flags: {
    data: { type: 'string', help: 'the message' },
    type: { type: 'string', help: 'text | json | binary', default: 'text' },
    timeout: TIMEOUT,
  },
  fields: ['target', 'address', 'type', 'bytes', 'ack'],
  errors: PEER_ERRORS,
  async run(context, args) {
    const target = args.need('target');
    const data = args.string('data');
    if (data === undefined) throw usageError('send-message needs --data');
    const typeName = args.string('type') ?? 'text';
    const type = TYPES[typeName];
    if (type === undefined) throw usageError(`--type is text, json or binary, not "${typeName}"`);
    if (typeName === 'json') {
      try {
        JSON.parse(data);
      } catch {
        throw usageError('--data is not valid JSON (needed by --type json)');
      }
    }
    const timeoutMs = args.duration('timeout', 30_000);
    const address = await context.resolve(target);
    const stream = await (await context.driver()).dial(address, WellKnownPort.DATA_EXCHANGE, { timeoutMs });
    try {
      const payload = Buffer.from(data);
      await writeAll(stream, encodeServiceFrame({ type, payload }));
      const ack = ackText(
        await withTimeout(
          new FrameReader(stream).next(),
          timeoutMs,
          "waiting for the peer's ACK",
          context.io.signal,
        ),
      );
      checkAck(ack);
      return {
        data: { target, address: formatAddress(address), type: typeName, bytes: payload.length, ack },
        human: ack === '' ? `sent ${payload.length} bytes` : ack,
      };
    } finally {
      finish(stream);
    }
  },
};

const sendFile: Command = {
  name: 'send-file',
  summary: "send a file to a peer's data-exchange service (port 1001); it lands in the peer's received/",
  args: [TARGET, { name: 'path', help: 'the file' }],
  flags: {
    name: { type: 'string', help: 'the name the peer sees', default: "the file's base name" },
    timeout: {
      type: 'duration',
      help: "give up waiting for the peer's ACK after this long",
      default: '120s',
    },
    pipe: {
      type: 'boolean',
      help: 'read the file here and pipe it through the daemon, even when the daemon could read it itself',
    },
  },
  fields: ['target', 'address', 'name', 'bytes', 'sha256', 'frames', 'ack', 'seconds', 'mb_per_s', 'read_by'],
  errors: [...PEER_ERRORS, 'io_error'],
  async run(context, args) {
    const target = args.need('target');
    const path = args.need('path');
    const name = args.string('name') ?? basename(path);
    if (Buffer.byteLength(name) > FILE_NAME_MAX_BYTES || name === '' || /\.\.|[/\\\0]/.test(name)) {
      throw usageError(`cannot send under the name "${name}" (at most 255 bytes, no "..", "/" or "\\")`);
    }
    // Loaded by this command only (node:crypto is a large part of a cold start).
    const [{ createHash }, { open, stat }, { resolve }] = await Promise.all([
      import('node:crypto'),
      import('node:fs/promises'),
      import('node:path'),
    ]);
    const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
      throw cliError(
        error.code === 'ENOENT' ? 'not_found' : 'io_error',
        `cannot read ${path}: ${error.message}`,
      );
    });
    if (!info.isFile()) throw cliError('io_error', `${path} is not a regular file`);
    const timeoutMs = args.duration('timeout', 120_000);
    const address = await context.resolve(target);
    const driver = await context.driver();
    const stream = await driver.dial(address, WellKnownPort.DATA_EXCHANGE, {
      timeoutMs: 60_000,
    });
    const total = info.size;
    const progress = new ProgressBar(
      context.io.stderrIsTty && !context.out.json ? context.out.stderr : undefined,
      total,
      name,
    );
    const reader = new FrameReader(stream);
    const started = performance.now();
    let frames = 0;
    let sha256 = '';
    let readBy: 'daemon' | 'pilotctl' = 'pilotctl';
    const acks: string[] = [];
    try {
      // Our daemon reads the file itself when it can (same file where it runs, owner-only socket):
      // the bytes then skip this process and the IPC socket. Otherwise (it declined, or an older
      // daemon) this process reads, hashes and frames them, as the reference's pilotctl does.
      const local = args.bool('pipe')
        ? undefined
        : await driver.sendFile(stream, {
            path: resolve(path),
            name,
            size: total,
            dev: info.dev,
            ino: info.ino,
          });
      if (local !== undefined) {
        if (local.error !== undefined)
          throw cliError('io_error', `the daemon stopped sending ${path}: ${local.error}`);
        readBy = 'daemon';
        frames = local.frames;
        sha256 = local.sha256 ?? '';
        progress.update(total);
      } else {
        const piped = await pipeFile(stream, path, name, total, progress, { createHash, open });
        frames = piped.frames;
        sha256 = piped.sha256;
      }
      for (let i = 0; i < frames; i++) {
        const ack = ackText(
          await withTimeout(reader.next(), timeoutMs, "waiting for the peer's ACK", context.io.signal),
        );
        checkAck(ack);
        acks.push(ack);
      }
      progress.done();
    } finally {
      finish(stream);
    }
    const seconds = (performance.now() - started) / 1000;
    return {
      data: {
        target,
        address: formatAddress(address),
        name,
        bytes: total,
        sha256,
        frames,
        ack: acks.at(-1) ?? '',
        seconds: Math.round(seconds * 1000) / 1000,
        mb_per_s: seconds > 0 ? Math.round((total / 1_000_000 / seconds) * 100) / 100 : 0,
        read_by: readBy,
      },
      human: `sent ${name} (${total} bytes, sha256 ${sha256}) to ${formatAddress(address)} in ${seconds.toFixed(2)} s`,
    };
  },
};

/**
 * Reads, hashes and frames the file here and writes it to `stream` (FILE frames of at most 16 MiB;
 * a bigger file goes as consecutive frames of the same name).
 */
async function pipeFile(
  stream: Duplex,
  path: string,
  name: string,
  total: number,
  progress: ProgressBar,
  modules: {
    readonly createHash: typeof import('node:crypto').createHash;
    readonly open: typeof import('node:fs/promises').open;
  },
): Promise<{ frames: number; sha256: string }> {
  const file = await modules.open(path, 'r');
  const hash = modules.createHash('sha256');
  const slice = SERVICE_MAX_PAYLOAD - 2 - Buffer.byteLength(name);
  let frames = 0;
  let sent = 0;
  try {
    const buffer = Buffer.allocUnsafe(Math.min(slice, Math.max(total, 1)));
    do {
      const size = Math.min(slice, total - sent);
      let filled = 0;
      while (filled < size) {
        const { bytesRead } = await file.read(buffer, filled, size - filled, sent + filled);
        if (bytesRead === 0) throw cliError('io_error', `${path} shrank while being sent`);
        filled += bytesRead;
      }
      const data = buffer.subarray(0, size);
      hash.update(data);
      const frame = encodeServiceFrame({
        type: DataExchangeType.FILE,
        payload: encodeFilePayload({ name, data }),
      });
      // Write in pieces so that the bar moves and back-pressure holds per piece.
      for (let offset = 0; offset < frame.length; offset += 262_144) {
        await writeAll(stream, frame.subarray(offset, offset + 262_144));
        progress.update(sent + Math.min(size, offset + 262_144));
      }
      sent += size;
      frames += 1;
    } while (sent < total);
  } finally {
    await file.close();
  }
  return { frames, sha256: hash.digest('hex') };
}

const subscribe: Command = {
  name: 'subscribe',
  summary: 'subscribe to a topic of a peer\'s event stream (port 1002; "*" is every topic) and print events',
  args: [TARGET, { name: 'topic', help: 'topic, or * for all' }],
  flags: {
    count: { type: 'number', help: 'stop after this many events' },
    timeout: { type: 'duration', help: 'stop after this long (default: until Ctrl-C)' },
  },
  fields: ['target', 'topic', 'events', 'count'],
  errors: PEER_ERRORS,
  async run(context, args) {
    const target = args.need('target');
    const topic = args.need('topic');
    const limit = args.has('count') ? args.number('count', 1, { min: 1 }) : Number.POSITIVE_INFINITY;
    const timeoutMs = args.has('timeout') ? args.duration('timeout', 0) : undefined;
    const address = await context.resolve(target);
    const stream = await (await context.driver()).dial(address, WellKnownPort.EVENT_STREAM, {
      timeoutMs: 60_000,
    });
    const events: Array<Record<string, unknown>> = [];
    const stop = (): void => {
      stream.destroy();
    };
    const timer = timeoutMs === undefined ? undefined : setTimeout(stop, timeoutMs);
    context.io.signal.addEventListener('abort', stop, { once: true });
    try {
      await writeAll(stream, encodeServiceEvent({ topic, payload: new Uint8Array() }));
      context.out.note(`subscribed to "${topic}" on ${formatAddress(address)}`);
      const decoder = new ServiceEventDecoder();
      reading: while (events.length < limit) {
        const chunk = await readChunk(stream).catch(() => undefined);
        if (chunk === undefined) break;
        for (const event of decoder.push(chunk)) {
          const { text, encoding } = printable(event.payload);
          events.push({ topic: event.topic, data: text, encoding, bytes: event.payload.length });
          context.out.line(`[${event.topic}] ${text}`);
          if (events.length >= limit) break reading;
        }
      }
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      context.io.signal.removeEventListener('abort', stop);
      finish(stream);
    }
    return { data: { target, topic, events, count: events.length }, human: '' };
  },
};

const publish: Command = {
  name: 'publish',
  summary: "publish an event on a topic of a peer's event stream (port 1002)",
  args: [TARGET, { name: 'topic', help: 'topic' }],
  flags: { data: { type: 'string', help: 'the event payload' }, timeout: TIMEOUT },
  fields: ['target', 'address', 'topic', 'bytes'],
  errors: PEER_ERRORS,
  async run(context, args) {
    const target = args.need('target');
    const topic = args.need('topic');
    if (topic === '*') throw usageError('publish to a topic, not "*"');
    const data = args.string('data');
    if (data === undefined) throw usageError('publish needs --data');
    const address = await context.resolve(target);
    const stream = await (await context.driver()).dial(address, WellKnownPort.EVENT_STREAM, {
      timeoutMs: args.duration('timeout', 30_000),
    });
    const payload = Buffer.from(data);
    try {
      // The first event of a connection is its subscription; the second is what we publish.
      await writeAll(stream, encodeServiceEvent({ topic, payload: new Uint8Array() }));
      await writeAll(stream, encodeServiceEvent({ topic, payload }));
    } finally {
      finish(stream);
    }
    return {
      data: { target, address: formatAddress(address), topic, bytes: payload.length },
      human: `published ${payload.length} bytes on "${topic}"`,
    };
  },
};

export const serviceCommands: readonly Command[] = [sendMessage, sendFile, subscribe, publish];
