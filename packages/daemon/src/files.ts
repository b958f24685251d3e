import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';

/** Writes a file so that a reader sees the old or the new content, never half (temp file, fsync, rename). */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): void {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(temp, 'w', mode);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    chmodSync(temp, mode);
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

/** Creates a directory (and its parents) readable by the owner only; `tighten` also fixes an existing one. */
export function ensurePrivateDir(path: string, tighten = false): void {
  const created = mkdirSync(path, { recursive: true, mode: 0o700 });
  if (created !== undefined || tighten) chmodSync(path, 0o700);
}

/**
 * A file name that is safe to create under a mailbox directory: the base name only, no control
 * characters, separators or leading dots, at most 120 characters, never empty.
 */
export function safeFileName(name: string): string {
  const base = name.split(/[/\\]/).pop() ?? '';
  let clean = [...base]
    .filter((char) => {
      const code = char.charCodeAt(0);
      return code >= 0x20 && code !== 0x7f;
    })
    .join('')
    .replace(/\.\.+/g, '.')
    .replace(/^[.\s]+/, '')
    .replace(/[<>:"|?*]/g, '_')
    .trim();
  if (clean === '') clean = 'file';
  if (clean.length > 120) {
    const ext = extname(clean).slice(0, 16);
    clean = clean.slice(0, 120 - ext.length) + ext;
  }
  return clean;
}
