import { join } from 'node:path';
import { isPilotError } from '@pilot/wire';
import type { Command } from '../command.js';
import type { Context } from '../context.js';

/** node:fs/promises, loaded by these commands only (pilotctl's cold start). */
function fsp(): Promise<typeof import('node:fs/promises')> {
  return import('node:fs/promises');
}

/** The daemon's home (Info `home`) when one answers, else PILOT_HOME. */
async function daemonHome(context: Context): Promise<string> {
  try {
    const info = await context.info();
    if (typeof info.home === 'string' && info.home !== '') return info.home;
  } catch (error) {
    if (!isPilotError(error) || !error.code.startsWith('DRIVER_')) throw error;
  }
  return context.home;
}

async function entries(dir: string): Promise<string[]> {
  try {
    return (await (await fsp()).readdir(dir)).filter((name) => !name.startsWith('.')).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

const CLEAR = { clear: { type: 'boolean', help: 'delete them after listing' } } as const;

const inbox: Command = {
  name: 'inbox',
  summary: 'messages received by the data-exchange service (<home>/inbox)',
  flags: CLEAR,
  fields: ['dir', 'messages', 'count', 'cleared'],
  errors: ['io_error'],
  async run(context, args) {
    const dir = join(await daemonHome(context), 'inbox');
    const messages: Array<Record<string, unknown>> = [];
    for (const name of await entries(dir)) {
      const path = join(dir, name);
      const text = await (await fsp()).readFile(path, 'utf8');
      let content: unknown;
      try {
        content = JSON.parse(text);
      } catch {
        content = { data: text };
      }
      messages.push({
        file: name,
        ...(content !== null && typeof content === 'object' ? content : { data: content }),
      });
    }
    if (args.bool('clear'))
      for (const message of messages)
        await (await fsp()).rm(join(dir, String(message.file)), { force: true });
    return {
      data: { dir, messages, count: messages.length, cleared: args.bool('clear') },
      human:
        messages.length === 0
          ? 'inbox is empty'
          : messages
              .map(
                (m) =>
                  `${String(m.file)}\t${typeof m.from === 'string' ? `${m.from}\t` : ''}${typeof m.data === 'string' ? m.data : JSON.stringify(m.data ?? m)}`,
              )
              .join('\n'),
    };
  },
};

const received: Command = {
  name: 'received',
  summary: 'files received by the data-exchange service (<home>/received)',
  flags: CLEAR,
  fields: ['dir', 'files', 'count', 'cleared'],
  errors: ['io_error'],
  async run(context, args) {
    const dir = join(await daemonHome(context), 'received');
    const files: Array<{ name: string; path: string; bytes: number; modified: string }> = [];
    for (const name of await entries(dir)) {
      const path = join(dir, name);
      const info = await (await fsp()).stat(path);
      if (info.isFile()) files.push({ name, path, bytes: info.size, modified: info.mtime.toISOString() });
    }
    if (args.bool('clear')) for (const file of files) await (await fsp()).rm(file.path, { force: true });
    return {
      data: { dir, files, count: files.length, cleared: args.bool('clear') },
      human:
        files.length === 0 ? 'no received files' : files.map((f) => `${f.name}\t${f.bytes} bytes`).join('\n'),
    };
  },
};

export const mailboxCommands: readonly Command[] = [inbox, received];
