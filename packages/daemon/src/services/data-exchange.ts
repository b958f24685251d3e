import {
  DataExchangeType,
  decodeFilePayload,
  encodeServiceFrame,
  type ServiceFrame,
  ServiceFrameDecoder,
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
  const decoder = new ServiceFrameDecoder();
  const files = new Map<string, FileSink>();
  let broken = false;

  const finishFiles = (complete: boolean): void => {
    for (const sink of files.values()) {
      const sha256 = sink.close();
      if (complete) {
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
  };

  const handle = (frame: ServiceFrame): string => {
    const name = TYPE_NAMES[frame.type];
    if (name === undefined) return `ERR unknown frame type ${frame.type}`;
    if (frame.type === DataExchangeType.FILE) {
      const file = decodeFilePayload(frame.payload);
      let sink = files.get(file.name);
      if (sink === undefined) {
        if (limits !== undefined && files.size >= limits.filesPerStream) {
          limits.onTooManyFiles();
          return `ERR budget: ${limits.filesPerStream} files open on this stream`;
        }
        if (limits !== undefined && !limits.quota.file(limits.node))
          return 'ERR budget: files received from this node';
        sink = context.mailbox.openFile(file.name);
        files.set(file.name, sink);
      }
      if (limits !== undefined && !limits.quota.bytes(limits.node, file.data.length)) {
        // Cut short: never announced as received (the part written stays for the operator to see).
        sink.close();
        files.delete(file.name);
        context.log.warn('file cut short: disk quota of the sender', { from: remote, path: sink.path });
        return 'ERR budget: bytes received from this node';
      }
      sink.write(file.data);
      return `ACK FILE ${file.data.length} bytes`;
    }
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

  stream.on('data', (chunk: Uint8Array) => {
    if (broken) return;
    let frames: ServiceFrame[];
    try {
      frames = decoder.push(chunk);
    } catch (error) {
      broken = true;
      stream.end(reply(`ERR ${errorMessage(error)}`));
      finishFiles(false);
      return;
    }
    for (const frame of frames) {
      let answer: string;
      try {
        answer = handle(frame);
      } catch (error) {
        answer = `ERR ${errorMessage(error)}`;
      }
      stream.write(reply(answer));
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
