import { createHash } from 'node:crypto';
import { lstat, open } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import type { Writable } from 'node:stream';
import {
  DataExchangeType,
  FILE_NAME_MAX_BYTES,
  fileNameProblem,
  SERVICE_FRAME_HEADER_SIZE,
  SERVICE_MAX_PAYLOAD,
  WellKnownPort,
} from '@pilot/wire';
import { DaemonErrorCode, daemonError, errorMessage } from './errors.js';

/**
 * `pilotctl send-file` where the daemon reads the file itself (IPC SEND_FILE, a pilot-ts extension):
 * the bytes go from the page cache into the stream without pilotctl reading, hashing and framing
 * them, and without crossing the IPC socket. What goes on the wire is exactly what pilotctl would
 * send: FILE frames of at most 16 MiB on the data-exchange connection the client dialled, which
 * stays the client's (the peer's ACKs reach it as Recv, as before).
 *
 * Who may ask: whoever can connect to the IPC socket can already act as this node; reading a file
 * by path adds what the daemon's user can read. So the socket must be owner-only (mode 0600, what
 * the daemon creates) when the request arrives, which leaves the daemon's own user and root.
 * The client names the file by path and by the identity it saw (device, inode, size): a client in
 * another mount namespace (a container sharing the socket) gets a refusal, not another file.
 */

/** What the client sends (JSON in the SendFile message). */
export interface LocalFileRequest {
  /** Absolute path of the file, as the client sees it. */
  readonly path: string;
  /** The name the peer sees (the FILE frames' name). */
  readonly name: string;
  /** The file's size, device and inode as the client's stat saw them. */
  readonly size: number;
  readonly dev: number;
  readonly ino: number;
}

/** The SendFileOK document: the file went out whole, or `error` says why it stopped. */
export interface LocalFileResult {
  readonly bytes: number;
  readonly frames: number;
  /** SHA-256 of the bytes sent, hex; absent when `error` is set. */
  readonly sha256?: string;
  /** Set when sending stopped part-way; the connection has been reset then. */
  readonly error?: string;
}

/** Bytes read from the file at once. */
const READ_BYTES = 1024 * 1024;
/** Bytes per write into the stream (each becomes one copy in its send buffer, see below). */
const WRITE_BYTES = 64 * 1024;

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Parses and checks the request (DAEMON_INVALID_ARGUMENT when it is not one). */
export function parseLocalFileRequest(json: string): LocalFileRequest {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw daemonError(DaemonErrorCode.INVALID_ARGUMENT, 'send-file request is not JSON');
  }
  const request = value as Partial<Record<keyof LocalFileRequest, unknown>> | null;
  if (
    typeof request !== 'object' ||
    request === null ||
    typeof request.path !== 'string' ||
    typeof request.name !== 'string' ||
    !isCount(request.size) ||
    !isCount(request.dev) ||
    !isCount(request.ino)
  )
    throw daemonError(
      DaemonErrorCode.INVALID_ARGUMENT,
      'send-file request needs path, name (strings), size, dev, ino (counts)',
    );
  if (!isAbsolute(request.path) || request.path.includes('\0'))
    throw daemonError(DaemonErrorCode.INVALID_ARGUMENT, 'send-file needs an absolute path');
  const problem = fileNameProblem(request.name);
  if (problem !== undefined || Buffer.byteLength(request.name) > FILE_NAME_MAX_BYTES)
    throw daemonError(
      DaemonErrorCode.INVALID_ARGUMENT,
      `cannot send under the name "${request.name}" (${problem ?? 'over 255 bytes'})`,
    );
  return {
    path: request.path,
    name: request.name,
    size: request.size,
    dev: request.dev,
    ino: request.ino,
  };
}

/** Resolves once `stream` took `chunk` (its callback); rejects when it fails first. */
function written(stream: Writable, chunk: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(chunk, (error) => (error ? reject(error) : resolve()));
  });
}

/** `[u32 FILE][u32 payload length][u16 name length][name]`: what precedes a FILE frame's data. */
function fileFrameHead(name: Uint8Array, dataBytes: number): Uint8Array {
  const head = Buffer.allocUnsafe(SERVICE_FRAME_HEADER_SIZE + 2 + name.length);
  head.writeUInt32BE(DataExchangeType.FILE, 0);
  head.writeUInt32BE(2 + name.length + dataBytes, 4);
  head.writeUInt16BE(name.length, SERVICE_FRAME_HEADER_SIZE);
  head.set(name, SERVICE_FRAME_HEADER_SIZE + 2);
  return head;
}

export interface LocalFileTarget {
  /** The client's data-exchange connection. */
  readonly stream: Writable;
  readonly remotePort: number;
  /** Counts bytes written into the stream (the connection's and the daemon's send statistics). */
  readonly counted: (bytes: number) => void;
}

/**
 * Checks the request and sends the file into `target`. Throws (an Error reply, nothing written:
 * the client then pipes the file itself) when it cannot start; once bytes went out, a failure is
 * reported in the result and the connection is reset, since the peer's framing is broken.
 */
export async function sendLocalFile(
  request: LocalFileRequest,
  target: LocalFileTarget,
  ipcSocketPath: string,
): Promise<LocalFileResult> {
  const { stream } = target;
  if (target.remotePort !== WellKnownPort.DATA_EXCHANGE)
    throw daemonError(
      DaemonErrorCode.INVALID_ARGUMENT,
      'send-file needs a data-exchange connection (port 1001)',
    );
  if (stream.writableEnded || stream.destroyed)
    throw daemonError(DaemonErrorCode.CONNECTION_FAILED, 'the connection is closed');
  const socket = await lstat(ipcSocketPath).catch(() => undefined);
  if (socket === undefined || (socket.mode & 0o077) !== 0)
    throw daemonError(
      DaemonErrorCode.NOT_TRUSTED,
      'the daemon reads files for its own user only: its IPC socket is not owner-only',
    );
  const file = await open(request.path, 'r').catch((error: unknown) => {
    throw daemonError(DaemonErrorCode.NOT_FOUND, `cannot open ${request.path}: ${errorMessage(error)}`);
  });
  let bytes = 0;
  let frames = 0;
  try {
    const info = await file.stat({ bigint: false });
    if (!info.isFile() || info.dev !== request.dev || info.ino !== request.ino || info.size !== request.size)
      throw daemonError(
        DaemonErrorCode.NOT_FOUND,
        `${request.path} is not the file the client saw (another mount namespace?)`,
      );
    const name = Buffer.from(request.name);
    const slice = SERVICE_MAX_PAYLOAD - 2 - name.length;
    const hash = createHash('sha256');
    const buffer = Buffer.allocUnsafe(Math.min(READ_BYTES, Math.max(request.size, 1)));
    try {
      do {
        const size = Math.min(slice, request.size - bytes);
        const head = fileFrameHead(name, size);
        await written(stream, head);
        target.counted(head.length);
        let left = size;
        while (left > 0) {
          const { bytesRead } = await file.read(buffer, 0, Math.min(buffer.length, left), bytes);
          if (bytesRead === 0) throw new Error(`${request.path} shrank while being sent`);
          const data = buffer.subarray(0, bytesRead);
          hash.update(data);
          // The buffer is read into again only after the stream took these bytes: its send buffer
          // copies each write on entry. In 64 KiB writes: a copy lives until all of it is
          // acknowledged, and 1 MiB ones outlived V8's young generation and piled up until an
          // old-space collection (a 1 GiB file took the sender to 728 MiB RSS; 64 KiB: flat).
          for (let offset = 0; offset < data.length; offset += WRITE_BYTES)
            await written(stream, data.subarray(offset, offset + WRITE_BYTES));
          target.counted(bytesRead);
          bytes += bytesRead;
          left -= bytesRead;
        }
        frames += 1;
      } while (bytes < request.size);
    } catch (error) {
      // Part of a frame may have gone out: the peer's framing is lost, so the stream goes too.
      stream.destroy();
      return { bytes, frames, error: errorMessage(error) };
    }
    return { bytes, frames, sha256: hash.digest('hex') };
  } finally {
    await file.close();
  }
}
