import { createHash } from 'node:crypto';
import { closeSync, openSync, readdirSync, writeSync } from 'node:fs';
import { extname, join } from 'node:path';
import { ensurePrivateDir, safeFileName, writeFileAtomic } from './files.js';

export type MessageKind = 'text' | 'json' | 'binary';

/** One message saved under `<home>/inbox/` (the JSON document of its file). */
export interface InboxMessage {
  type: MessageKind;
  /** Sender's address. */
  from: string;
  /** Port it arrived on (1001 data exchange, 1000 stdio). */
  port: number;
  bytes: number;
  received_at: string;
  /** The text (text, json), or base64 (binary). */
  data: string;
  encoding: 'utf8' | 'base64';
}

/** A received file being written under `<home>/received/`. */
export class FileSink {
  readonly path: string;
  readonly name: string;
  readonly #fd: number;
  readonly #hash = createHash('sha256');
  bytes = 0;
  #closed = false;

  constructor(path: string, name: string) {
    this.path = path;
    this.name = name;
    this.#fd = openSync(path, 'wx', 0o600);
  }

  write(data: Uint8Array): void {
    let offset = 0;
    while (offset < data.length) offset += writeSync(this.#fd, data, offset, data.length - offset);
    this.#hash.update(data);
    this.bytes += data.length;
  }

  /** Closes the file; returns its SHA-256 in hex. */
  close(): string {
    if (!this.#closed) {
      this.#closed = true;
      closeSync(this.#fd);
    }
    return this.#hash.copy().digest('hex');
  }
}

/** The mailbox: messages in `<home>/inbox/`, files in `<home>/received/`, names that cannot escape or collide. */
export class Mailbox {
  readonly inboxDir: string;
  readonly receivedDir: string;
  #counter = 0;
  messages = 0;
  files = 0;

  constructor(home: string) {
    this.inboxDir = join(home, 'inbox');
    this.receivedDir = join(home, 'received');
    ensurePrivateDir(this.inboxDir);
    ensurePrivateDir(this.receivedDir);
  }

  #stamp(): string {
    const now = new Date();
    const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
    const time = `${now.getUTCFullYear()}${pad(now.getUTCMonth() + 1)}${pad(now.getUTCDate())}T${pad(now.getUTCHours())}${pad(now.getUTCMinutes())}${pad(now.getUTCSeconds())}${pad(now.getUTCMilliseconds(), 3)}`;
    this.#counter = (this.#counter + 1) % 1_000_000;
    return `${time}-${this.#counter}`;
  }

  /** Saves a message as `<inbox>/<type>-<time>-<n>.json`; returns the path. */
  saveMessage(type: MessageKind, from: string, port: number, data: Uint8Array): string {
    const binary = type === 'binary' || !isUtf8(data);
    const message: InboxMessage = {
      type,
      from,
      port,
      bytes: data.length,
      received_at: new Date().toISOString(),
      data: Buffer.from(data).toString(binary ? 'base64' : 'utf8'),
      encoding: binary ? 'base64' : 'utf8',
    };
    const path = join(this.inboxDir, `${type}-${this.#stamp()}.json`);
    writeFileAtomic(path, `${JSON.stringify(message, null, 2)}\n`, 0o600);
    this.messages++;
    return path;
  }

  /** Opens `<received>/<base>-<time>-<n><ext>` for a file sent as `name` (already checked by the wire codec). */
  openFile(name: string): FileSink {
    const safe = safeFileName(name);
    const ext = extname(safe);
    const base = ext === '' ? safe : safe.slice(0, -ext.length);
    const path = join(this.receivedDir, `${base}-${this.#stamp()}${ext}`);
    this.files++;
    return new FileSink(path, safe);
  }

  list(): { inbox: string[]; received: string[] } {
    return { inbox: readdirSync(this.inboxDir).sort(), received: readdirSync(this.receivedDir).sort() };
  }
}

function isUtf8(data: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(data);
    return true;
  } catch {
    return false;
  }
}
