import { createHash } from 'node:crypto';
import { open, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { basename, join, sep } from 'node:path';
import {
  DataExchangeType,
  encodeFilePayload,
  encodeServiceFrame,
  FILE_NAME_MAX_BYTES,
  formatAddress,
  SERVICE_MAX_PAYLOAD,
  WellKnownPort,
} from '@pilot/wire';
import type { PilotNode } from './pilot-node.js';
import { FrameReader, withTimeout, writeAll } from './stream-io.js';
import {
  array,
  integer,
  object,
  openObject,
  PEER,
  type PilotTool,
  READ_ONLY,
  string,
} from './tool-definition.js';
import { ToolFailure } from './tool-error.js';

const SENDS = {
  readOnlyHint: false,
  destructiveHint: false,
  idempotentHint: false,
  openWorldHint: true,
} as const;
const ADDRESS = string("the peer's address");

/** Throws too_large when `bytes` exceeds `max`. */
export function checkSize(what: string, bytes: number, max: number): void {
  if (bytes > max)
    throw new ToolFailure(
      'too_large',
      `${what} is ${bytes} bytes; this tool server sends at most ${max} bytes`,
    );
}

function ackOf(text: string): string {
  if (text.startsWith('ERR'))
    throw new ToolFailure('connection_failed', `the peer refused the data: ${text}`, {
      hint: "the peer's daemon log says why",
    });
  return text;
}

/** Sends service frames to the peer's data-exchange port and returns its ACK texts (one per frame). */
async function exchange(
  node: PilotNode,
  peer: string,
  frames: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  timeoutMs: number,
): Promise<{ address: string; acks: string[] }> {
  const address = await node.resolve(peer);
  return node.withDriver(async (driver) => {
    const stream = await driver.dial(address, WellKnownPort.DATA_EXCHANGE, {
      timeoutMs: node.limits.dialTimeoutMs,
    });
    const reader = new FrameReader(stream);
    try {
      let count = 0;
      for await (const frame of frames) {
        await writeAll(stream, frame);
        count += 1;
      }
      const acks: string[] = [];
      for (let i = 0; i < count; i++) {
        const ack = await withTimeout(reader.next(), timeoutMs, "waiting for the peer's ACK");
        acks.push(ackOf(ack === undefined ? '' : Buffer.from(ack.payload).toString('utf8')));
      }
      return { address: formatAddress(address), acks };
    } finally {
      stream.end();
      stream.destroy();
    }
  });
}

const sendMessage: PilotTool<{ peer: string; message: string; type?: 'text' | 'json' }> = {
  name: 'pilot_send_message',
  title: 'Send a message to a peer',
  description:
    "Send a text or JSON message to a peer's data-exchange service (port 1001); it lands in the peer's inbox (pilot_inbox on its side). The peer must trust you if it is private.",
  inputSchema: object(
    {
      peer: PEER,
      message: string('the message (text, or JSON text with type "json")'),
      type: string('text (default) or json', { enum: ['text', 'json'] }),
    },
    ['peer', 'message'],
  ),
  outputSchema: object(
    {
      address: ADDRESS,
      type: string('text or json'),
      bytes: integer('bytes sent'),
      ack: string("the peer's ACK"),
    },
    ['address', 'type', 'bytes', 'ack'],
  ),
  annotations: SENDS,
  async run({ node }, { peer, message, type }) {
    const kind = type ?? 'text';
    if (kind === 'json') {
      try {
        JSON.parse(message);
      } catch {
        throw new ToolFailure('invalid_argument', 'message is not valid JSON (type "json")');
      }
    }
    const payload = Buffer.from(message);
    checkSize('the message', payload.length, node.limits.maxPayloadBytes);
    const frame = encodeServiceFrame({
      type: kind === 'json' ? DataExchangeType.JSON : DataExchangeType.TEXT,
      payload,
    });
    const { address, acks } = await exchange(node, peer, [frame], node.limits.replyTimeoutMs);
    return { address, type: kind, bytes: payload.length, ack: acks[0] ?? '' };
  },
};

async function* fileFrames(path: string, name: string, size: number, hash: ReturnType<typeof createHash>) {
  // A frame carries at most 16 MiB: a bigger file goes as consecutive FILE frames of the same name.
  const slice = SERVICE_MAX_PAYLOAD - 2 - Buffer.byteLength(name);
  const file = await open(path, 'r');
  try {
    let sent = 0;
    do {
      const length = Math.min(slice, size - sent);
      const data = Buffer.allocUnsafe(length);
      let filled = 0;
      while (filled < length) {
        const { bytesRead } = await file.read(data, filled, length - filled, sent + filled);
        if (bytesRead === 0) throw new ToolFailure('io_error', `${path} shrank while being sent`);
        filled += bytesRead;
      }
      hash.update(data);
      sent += length;
      yield encodeServiceFrame({ type: DataExchangeType.FILE, payload: encodeFilePayload({ name, data }) });
    } while (sent < size);
  } finally {
    await file.close();
  }
}

const sendFile: PilotTool<{ peer: string; path: string; name?: string }> = {
  name: 'pilot_send_file',
  title: 'Send a file to a peer',
  description:
    "Send a local file to a peer's data-exchange service (port 1001); it lands in the peer's received files (pilot_received on its side). Returns the SHA-256 the peer can check.",
  inputSchema: object(
    {
      peer: PEER,
      path: string('path of a local regular file', { minLength: 1 }),
      name: string("the name the peer sees (default: the file's base name)", {
        minLength: 1,
        maxLength: 255,
      }),
    },
    ['peer', 'path'],
  ),
  outputSchema: object(
    {
      address: ADDRESS,
      name: string('name at the peer'),
      bytes: integer('file size'),
      sha256: string('SHA-256 of the content, hex'),
      frames: integer('data-exchange frames'),
      ack: string("the peer's last ACK"),
    },
    ['address', 'name', 'bytes', 'sha256', 'frames', 'ack'],
  ),
  annotations: SENDS,
  async run({ node }, { peer, path, name }) {
    const as = name ?? basename(path);
    if (Buffer.byteLength(as) > FILE_NAME_MAX_BYTES || /\.\.|[/\\\0]/.test(as))
      throw new ToolFailure('invalid_argument', `cannot send under the name "${as}" (no "..", "/" or "\\")`);
    const info = await stat(path);
    if (!info.isFile()) throw new ToolFailure('io_error', `${path} is not a regular file`);
    // The node's own secrets (identity.json, trust.json…) must not leave it at an agent's word: a
    // prompt-injected agent would hand its identity away. Only received/ may be passed on from home.
    const home = await realpath(await node.home()).catch(() => undefined);
    const real = await realpath(path);
    if (home !== undefined && real.startsWith(home + sep) && !real.startsWith(join(home, 'received') + sep))
      throw new ToolFailure(
        'invalid_argument',
        `refusing to send ${path}: it is one of the node's own files (${home})`,
        {
          hint: 'copy what you mean to share out of the Pilot home first',
        },
      );
    checkSize('the file', info.size, node.limits.maxFileBytes);
    const hash = createHash('sha256');
    const { address, acks } = await exchange(node, peer, fileFrames(path, as, info.size, hash), 120_000);
    return {
      address,
      name: as,
      bytes: info.size,
      sha256: hash.digest('hex'),
      frames: acks.length,
      ack: acks.at(-1) ?? '',
    };
  },
};

async function entries(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((name) => !name.startsWith('.')).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

const inbox: PilotTool<{ limit?: number }> = {
  name: 'pilot_inbox',
  title: 'Messages received',
  description:
    'Messages peers sent this node (pilot_send_message on their side), newest last. Each has the sender address, type, and data (text, or base64 for binary).',
  inputSchema: object({ limit: integer('the newest this many (default 50)', 1, 1000) }),
  outputSchema: object(
    {
      messages: array(
        openObject(
          {
            file: string('file name in <home>/inbox'),
            from: string('sender address'),
            type: string('text, json or binary'),
            data: string('the message; base64 when encoding is base64'),
            encoding: string('utf8 or base64'),
            bytes: integer('size'),
            received_at: string('ISO time'),
            truncated: { type: 'boolean', description: 'data cut at the payload cap' },
          },
          ['file', 'data'],
        ),
      ),
      count: integer('messages returned'),
      total: integer('messages in the inbox'),
    },
    ['messages', 'count', 'total'],
  ),
  annotations: { ...READ_ONLY, openWorldHint: false },
  async run({ node }, { limit }) {
    const dir = join(await node.home(), 'inbox');
    const names = await entries(dir);
    const chosen = names.slice(-(limit ?? 50));
    const messages: Record<string, unknown>[] = [];
    for (const file of chosen) {
      const text = await readFile(join(dir, file), 'utf8');
      let content: Record<string, unknown>;
      try {
        const parsed: unknown = JSON.parse(text);
        content =
          parsed !== null && typeof parsed === 'object'
            ? (parsed as Record<string, unknown>)
            : { data: text };
      } catch {
        content = { data: text };
      }
      const data = typeof content.data === 'string' ? content.data : JSON.stringify(content.data ?? '');
      const cut = data.length > node.limits.maxPayloadBytes;
      messages.push({
        ...content,
        file,
        data: cut ? data.slice(0, node.limits.maxPayloadBytes) : data,
        ...(cut ? { truncated: true } : {}),
      });
    }
    return { messages, count: messages.length, total: names.length };
  },
};

const received: PilotTool = {
  name: 'pilot_received',
  title: 'Files received',
  description: 'Files peers sent this node (pilot_send_file on their side), with their local paths.',
  inputSchema: object({}),
  outputSchema: object(
    {
      files: array(
        object(
          {
            name: string('file name'),
            path: string('local path'),
            bytes: integer('size'),
            modified: string('ISO time'),
          },
          ['name', 'path', 'bytes', 'modified'],
        ),
      ),
      count: integer('how many'),
    },
    ['files', 'count'],
  ),
  annotations: { ...READ_ONLY, openWorldHint: false },
  async run({ node }) {
    const dir = join(await node.home(), 'received');
    const files: { name: string; path: string; bytes: number; modified: string }[] = [];
    for (const name of await entries(dir)) {
      const path = join(dir, name);
      const info = await stat(path);
      if (info.isFile()) files.push({ name, path, bytes: info.size, modified: info.mtime.toISOString() });
    }
    return { files, count: files.length };
  },
};

export const dataTools: readonly PilotTool[] = [
  sendMessage as PilotTool,
  inbox as PilotTool,
  sendFile as PilotTool,
  received,
];
