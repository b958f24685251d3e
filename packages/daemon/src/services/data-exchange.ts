import {
  DataExchangeDecoder,
  type DataExchangeEvent,
  DataExchangeType,
  encodeServiceFrame,
  type ServiceFrame,
} from '@pilot/wire';
import { errorMessage } from '../errors.js';
import type { ExchangeQuota } from '../exchange-quota.js';
import type { FileSink, MessageKind } from '../mailbox.js';
import type { ServiceContext, ServiceStream } from './service-context.js';

const TYPE_NAMES: Readonly<Record<number, string>> = {
  [DataExchangeType.TEXT]: 'TEXT',
  [DataExchangeType.BINARY]: 'BINARY',
  [DataExchangeType.JSON]: 'JSON',
  [DataExchangeType.FILE]: 'FILE',
};

const KINDS: Readonly<Record<number, MessageKind>> = {
  [DataExchangeType.TEXT]: 'text',
  [DataExchangeType.BINARY]: 'binary',
  [DataExchangeType.JSON]: 'json',
};

function reply(text: string): Uint8Array {
  return encodeServiceFrame({ type: DataExchangeType.TEXT, payload: new TextEncoder().encode(text) });
}

/**
 * Data exchange (port 1001): typed frames `[u32 type][u32 len][payload]`. Text, JSON and binary go to
 * the inbox; a file goes to `received/`. Every frame is answered `ACK <TYPE> <n> bytes` (or `ERR …`).
 * Ours: FILE frames with the same name on one connection are appended to one file, so that files
 * over the 16 MiB frame limit can be sent in pieces; the file is complete when the stream ends.
 */
export interface DataExchangeLimits {
  /** The peer's node ID: its quota is shared by all its streams. */
  readonly node: number;
  readonly quota: ExchangeQuota;
  /** Files open at once on one stream (each holds a file descriptor). */
  readonly filesPerStream: number;
  /** Counts a FILE frame refused because the stream has `filesPerStream` open. */
  readonly onTooManyFiles: () => void;
}

export function serveDataExchange(
  served: ServiceStream,
  context: ServiceContext,
  limits?: DataExchangeLimits,
): void {
  const { stream, remote, localPort } = served;
  // FILE frames are written to disk as their bytes arrive (not gathered whole, up to 16 MiB, and
  // joined at the end); other frames come whole.
  const decoder = new DataExchangeDecoder();
  const files = new Map<string, FileSink>();
  /** The FILE frame under way: where its bytes go, or the answer it gets when they go nowhere. */
  let current: { name: string; bytes: number; sink?: FileSink | undefined; refused?: string } | undefined;
  let broken = false;

  const finishFiles = (complete: boolean): void => {
    for (const sink of files.values()) {
      const sha256 = sink.close();
      // A file whose last frame was cut short is not announced (its part stays for the operator).
      if (complete && current?.sink !== sink) {
        context.log.info('file received', { from: remote, path: sink.path, bytes: sink.bytes, sha256 });
        context.emit('file.received', {
          from: remote,
          name: sink.name,
          path: sink.path,
          bytes: sink.bytes,
          sha256,
        });
      }
    }
    files.clear();
    current = undefined;
  };

  /** Where a FILE frame of `bytes` data bytes named `name` goes, or the ERR answer it gets. */
  const openFile = (name: string, bytes: number): FileSink | string => {
    let sink = files.get(name);
    if (sink === undefined) {
      if (limits !== undefined && files.size >= limits.filesPerStream) {
        limits.onTooManyFiles();
        return `ERR budget: ${limits.filesPerStream} files open on this stream`;
      }
      if (limits !== undefined && !limits.quota.file(limits.node))
        return 'ERR budget: files received from this node';
      sink = context.mailbox.openFile(name);
      files.set(name, sink);
    }
    if (limits !== undefined && !limits.quota.bytes(limits.node, bytes)) {
      // Cut short: never announced as received (the part written stays for the operator to see).
      sink.close();
      files.delete(name);
      context.log.warn('file cut short: disk quota of the sender', { from: remote, path: sink.path });
      return 'ERR budget: bytes received from this node';
    }
    return sink;
  };

  const handleFrame = (frame: ServiceFrame): string => {
    const name = TYPE_NAMES[frame.type];
    if (name === undefined) return `ERR unknown frame type ${frame.type}`;
    const kind = KINDS[frame.type] as MessageKind;
    if (kind === 'json') {
      try {
        JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(frame.payload));
      } catch {
        return 'ERR payload is not JSON';
      }
    }
    if (limits !== undefined && !limits.quota.bytes(limits.node, frame.payload.length))
      return 'ERR budget: bytes received from this node';
    const path = context.mailbox.saveMessage(kind, remote, localPort, frame.payload);
    context.emit('message.received', { from: remote, type: kind, bytes: frame.payload.length, path });
    return `ACK ${name} ${frame.payload.length} bytes`;
  };

  /** The answer to the event, when it completes a frame. */
  const handle = (event: DataExchangeEvent): string | undefined => {
    switch (event.kind) {
      case 'frame':
        try {
          return handleFrame(event.frame);
        } catch (error) {
          return `ERR ${errorMessage(error)}`;
        }
      case 'file-start': {
        current = { name: event.name, bytes: event.bytes };
        try {
          const sink = openFile(event.name, event.bytes);
          if (typeof sink === 'string') current.refused = sink;
          else current.sink = sink;
        } catch (error) {
          current.refused = `ERR ${errorMessage(error)}`;
        }
        return undefined;
      }
      case 'file-data': {
        const file = current;
        if (file?.sink === undefined) return undefined;
        try {
          file.sink.write(event.data);
        } catch (error) {
          file.refused = `ERR ${errorMessage(error)}`;
          file.sink = undefined;
        }
        return undefined;
      }
      case 'file-end': {
        const file = current;
        current = undefined;
        if (event.error !== undefined) return `ERR ${errorMessage(event.error)}`;
        return file?.refused ?? `ACK FILE ${file?.bytes ?? 0} bytes`;
      }
    }
  };

  stream.on('data', (chunk: Uint8Array) => {
    if (broken) return;
    let events: DataExchangeEvent[];
    try {
      events = decoder.push(chunk);
    } catch (error) {
      broken = true;
      stream.end(reply(`ERR ${errorMessage(error)}`));
      finishFiles(false);
      return;
    }
    for (const event of events) {
      const answer = handle(event);
      if (answer !== undefined) stream.write(reply(answer));
    }
  });
  stream.on('end', () => {
    finishFiles(true);
    stream.end();
  });
  stream.on('error', () => {
    finishFiles(false);
    stream.destroy();
  });
  stream.on('close', () => finishFiles(false));
}
