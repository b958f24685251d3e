import { chmodSync, lstatSync, mkdirSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import {
  decodeIpcMessage,
  encodeIpcFrame,
  FrameDecoder,
  IPC_MAX_FRAME,
  IpcCommand,
  type IpcMessage,
} from '@pilot/wire';
import { TurnCork } from './driver/turn-cork.js';
import { DaemonErrorCode, daemonError, errorMessage, IpcErrorCode } from './errors.js';
import type { Logger } from './logger.js';
import { ReplyOrder, replyTypeOf } from './reply-order.js';

/** The answer to one IPC request; `sent` runs right after it is written (a Dial's piping starts there). */
export interface IpcReply {
  readonly message: IpcMessage;
  readonly sent?: () => void;
}

/** What the daemon does with the messages of IPC clients. */
export interface IpcHandler {
  message(client: IpcClient, message: IpcMessage): void;
  closed(client: IpcClient): void;
}

/**
 * Bytes an IPC socket buffers before `send` reports it full. Node's default (16 KiB) is below one
 * Recv of a coalesced 64 KiB chunk, so every Recv paused its stream until the next 'drain'.
 */
const IPC_SOCKET_BUFFER = 256 * 1024;

/** Recv data from this size on is written after its own header instead of copied into one frame. */
const RECV_NO_COPY_BYTES = 8 * 1024;
/** `[u32 length][u8 command][u32 connection]`: what precedes a Recv's data. */
const RECV_HEADER_BYTES = 9;

/** One driver connected to the socket. */
export class IpcClient {
  readonly id: number;
  readonly #socket: Socket;
  readonly #log: Logger;
  readonly #order = new ReplyOrder();
  #pauses = 0;
  readonly #cork: TurnCork;
  closed = false;
  messagesIn = 0;
  messagesOut = 0;

  constructor(id: number, socket: Socket, log: Logger) {
    this.id = id;
    this.#socket = socket;
    this.#cork = new TurnCork(socket);
    this.#log = log;
  }

  /** Writes one message; false when the socket's buffer is full (wait for `drained`). */
  send(message: IpcMessage): boolean {
    if (this.closed) return false;
    // The frames of one turn (the Recvs of every stream that got data, replies) leave in one writev.
    this.#cork.cork();
    if (
      message.type === 'recv' &&
      message.data.length >= RECV_NO_COPY_BYTES &&
      message.data.length + 5 <= IPC_MAX_FRAME
    ) {
      // The data is the stream's own chunk (nobody reuses it): no copy into a new frame.
      const header = new Uint8Array(RECV_HEADER_BYTES);
      const view = new DataView(header.buffer);
      view.setUint32(0, message.data.length + 5);
      header[4] = IpcCommand.RECV;
      view.setUint32(5, message.connId);
      this.messagesOut++;
      this.#socket.write(header);
      return this.#socket.write(message.data);
    }
    let frame: Uint8Array;
    try {
      frame = encodeIpcFrame(message);
    } catch (error) {
      this.#log.error('cannot encode IPC reply', { type: message.type, error: errorMessage(error) });
      frame = encodeIpcFrame({ type: 'error', code: IpcErrorCode.INTERNAL, message: 'reply too large' });
    }
    this.messagesOut++;
    return this.#socket.write(frame);
  }

  error(code: number, message: string): void {
    this.send({ type: 'error', code, message });
  }

  /** Calls `callback` once the socket can take more (at once if it can now). */
  drained(callback: () => void): void {
    if (this.closed || !this.#socket.writableNeedDrain) {
      callback();
      return;
    }
    const done = (): void => {
      this.#socket.off('drain', done);
      this.#socket.off('close', done);
      callback();
    };
    this.#socket.on('drain', done);
    this.#socket.on('close', done);
  }

  /**
   * Serves one request concurrently with this client's others (a slow Dial holds up nobody), and
   * writes its answer when the drivers' matching rule allows (see ReplyOrder). `task` reports a
   * failure as an Error reply; a throw is an internal error.
   */
  respond(request: IpcMessage['type'] | undefined, task: () => Promise<IpcReply>): void {
    const slot = this.#order.enter(request === undefined ? undefined : replyTypeOf(request));
    const deliver = (reply: IpcReply): void => {
      if (this.closed) return;
      this.send(reply.message);
      reply.sent?.();
    };
    task().then(
      (reply) => this.#order.answer(slot, reply.message.type === 'error', () => deliver(reply)),
      (error: unknown) => {
        this.#log.error('IPC handler failed', { error: errorMessage(error) });
        const message: IpcMessage = {
          type: 'error',
          code: IpcErrorCode.INTERNAL,
          message: errorMessage(error),
        };
        this.#order.answer(slot, true, () => deliver({ message }));
      },
    );
  }

  /** Requests of this client not answered yet. */
  get waiting(): number {
    return this.#order.waiting;
  }

  /** Stops reading this client's requests (a stream it writes to is full). Counted. */
  pause(): void {
    if (this.#pauses++ === 0) this.#socket.pause();
  }

  resume(): void {
    if (this.#pauses > 0 && --this.#pauses === 0) this.#socket.resume();
  }

  /** Drops the answers still held (the driver is gone). */
  forget(): void {
    this.#order.clear();
  }

  close(): void {
    this.#socket.end();
    this.#socket.destroySoon();
  }

  destroy(): void {
    this.#socket.destroy();
  }
}

/**
 * The Unix-socket IPC server (spec §7, reference §9.3): `[u32 length][command][payload]` frames of
 * at most 1 MiB, mode 0600. A socket file left by a dead daemon is replaced; a live one is refused.
 * A message that does not decode gets an Error reply and the connection goes on; a frame over the
 * limit loses the framing, so that client gets an Error and is disconnected.
 */
export class IpcServer {
  readonly path: string;
  readonly clients: Set<IpcClient> = new Set();
  readonly #server: Server;
  readonly #log: Logger;
  readonly #sockets = new Set<Socket>();
  #nextId = 1;
  garbage = 0;

  private constructor(path: string, server: Server, log: Logger) {
    this.path = path;
    this.#server = server;
    this.#log = log;
  }

  static async listen(path: string, handler: IpcHandler, log: Logger): Promise<IpcServer> {
    await checkSocketFree(path);
    mkdirSync(dirname(path), { recursive: true });
    const server = createServer({ highWaterMark: IPC_SOCKET_BUFFER });
    const ipc = new IpcServer(path, server, log);
    server.on('connection', (socket) => ipc.#accept(socket, handler));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // Owner only from the first moment: the mode of a Unix socket file is what guards it.
      const mask = process.umask(0o177);
      try {
        server.listen(path, () => {
          server.off('error', reject);
          resolve();
        });
      } finally {
        process.umask(mask);
      }
    });
    chmodSync(path, 0o600);
    server.on('error', (error) => log.error('IPC server error', { error: errorMessage(error) }));
    return ipc;
  }

  #accept(socket: Socket, handler: IpcHandler): void {
    const client = new IpcClient(this.#nextId++, socket, this.#log);
    this.clients.add(client);
    this.#sockets.add(socket);
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      let frames: Uint8Array[];
      try {
        frames = decoder.push(chunk);
      } catch (error) {
        this.garbage++;
        client.error(IpcErrorCode.INVALID_ARGUMENT, `bad IPC frame: ${errorMessage(error)}`);
        socket.removeAllListeners('data');
        client.close();
        return;
      }
      for (const frame of frames) {
        let message: IpcMessage;
        try {
          message = decodeIpcMessage(frame);
        } catch (error) {
          this.garbage++;
          // Answered in turn: an Error sent before an earlier request's reply would be taken for it.
          const message: IpcMessage = {
            type: 'error',
            code: IpcErrorCode.INVALID_ARGUMENT,
            message: `bad IPC message: ${errorMessage(error)}`,
          };
          client.respond(undefined, () => Promise.resolve({ message }));
          continue;
        }
        client.messagesIn++;
        try {
          handler.message(client, message);
        } catch (error) {
          client.error(IpcErrorCode.INTERNAL, errorMessage(error));
        }
      }
    });
    socket.on('error', (error) =>
      this.#log.debug('IPC client error', { client: client.id, error: error.message }),
    );
    socket.on('close', () => {
      client.closed = true;
      client.forget();
      this.clients.delete(client);
      this.#sockets.delete(socket);
      handler.closed(client);
    });
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
    rmSync(this.path, { force: true });
  }
}

/** Removes a socket file nobody listens on; refuses one a live daemon serves, or a file that is no socket. */
export async function checkSocketFree(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return;
  }
  if (!isSocket)
    throw daemonError(
      DaemonErrorCode.SOCKET_IN_USE,
      `${path} exists and is not a socket: remove it or pick --socket`,
    );
  const live = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live)
    throw daemonError(
      DaemonErrorCode.SOCKET_IN_USE,
      `a daemon is already listening on ${path} (stop it, or use another --socket)`,
    );
  rmSync(path, { force: true });
}
