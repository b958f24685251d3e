import { type Stats, statSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import {
  decodeIpcMessage,
  encodeIpcFrame,
  FrameDecoder,
  IPC_MAX_FRAME,
  IpcCommand,
  type IpcMessage,
  isPilotError,
  type PilotError,
} from '@pilot/wire';
import { DriverErrorCode, daemonError, driverError } from './errors.js';
import { TurnCork } from './turn-cork.js';

export type IpcMessageType = IpcMessage['type'];

export type IpcMessageOf<T extends IpcMessageType> = Extract<IpcMessage, { type: T }>;

/**
 * Bytes the socket buffers each way before it reports full (Node's default is 16 KiB): one 64 KiB
 * Send or Recv no longer turns into a pause and a 'drain' (or a stop and restart of reading) each.
 */
const SOCKET_BUFFER = 256 * 1024;

/** Send data from this size on is written after its own header instead of copied into one frame. */
const SEND_NO_COPY_BYTES = 8 * 1024;
/** `[u32 length][u8 command][u32 connection]`: what precedes a Send's data. */
const SEND_HEADER_BYTES = 9;

/** One request waiting for its reply, in the order it was sent. */
interface PendingReply {
  readonly expect: IpcMessageType;
  /** Narrows which reply of that type is this request's (CloseOK carries the connection ID). */
  readonly matches?: (reply: IpcMessage) => boolean;
  /** Runs synchronously in the read loop, so that state it sets up is in place for the next frame. */
  readonly settle: (reply: IpcMessage | PilotError) => void;
}

export interface IpcChannelEvents {
  /** Accept, Recv, RecvFrom, and CloseOK (CloseOK is matched by connection ID, not FIFO). */
  onMessage(message: IpcMessage): void;
  /** An Error that no request was waiting for (the daemon reporting a failed Send, say). */
  onStrayError(error: PilotError): void;
  /** The socket is gone; `error` says why when it was not a clean close. */
  onClose(error: PilotError): void;
}

/**
 * The framed IPC socket: writes messages, reads frames, and matches each reply with the oldest
 * request waiting for that reply type (FIFO per type), an Error answering the oldest request of any
 * type — the matching rule of the reference's driver. Reading can be paused while a consumer is
 * full, which is the only back-pressure the IPC protocol offers.
 */
export class IpcChannel {
  readonly #socket: Socket;
  readonly #decoder = new FrameDecoder();
  readonly #pending: PendingReply[] = [];
  readonly #events: IpcChannelEvents;
  readonly #blockers = new Set<object>();
  #closed: PilotError | undefined;
  readonly #cork: TurnCork;
  /** The one wait for 'drain' that every blocked writer shares (drained()). */
  #drain: Promise<void> | undefined;

  private constructor(socket: Socket, events: IpcChannelEvents) {
    this.#socket = socket;
    this.#cork = new TurnCork(socket);
    this.#events = events;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (error) => {
      this.#shutdown(driverError(DriverErrorCode.DISCONNECTED, `IPC socket failed: ${error.message}`, error));
    });
    socket.on('close', () => {
      this.#shutdown(driverError(DriverErrorCode.DISCONNECTED, 'the daemon closed the IPC connection'));
    });
  }

  static open(path: string, events: IpcChannelEvents): Promise<IpcChannel> {
    try {
      checkSocketOwner(path);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      // net.Socket hands these to its Duplex; @types/node's NetConnectOpts does not list them.
      const options = { path, readableHighWaterMark: SOCKET_BUFFER, writableHighWaterMark: SOCKET_BUFFER };
      const socket = connect(options);
      const onError = (error: NodeJS.ErrnoException): void => {
        socket.destroy();
        const nobody = error.code === 'ENOENT' || error.code === 'ECONNREFUSED' || error.code === 'ENOTSOCK';
        reject(
          nobody
            ? driverError(
                DriverErrorCode.NOT_RUNNING,
                `no daemon listens at ${path}: start one with "pilotctl daemon start", or point PILOT_SOCKET / --socket at its socket`,
                error,
              )
            : driverError(DriverErrorCode.DISCONNECTED, `cannot open ${path}: ${error.message}`, error),
        );
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        resolve(new IpcChannel(socket, events));
      });
    });
  }

  get closed(): boolean {
    return this.#closed !== undefined;
  }

  /** Why the channel closed, when it did. */
  get closeReason(): PilotError | undefined {
    return this.#closed;
  }

  /**
   * Writes one message; false when the socket's buffer is full (wait for drained()). With `flushed`,
   * a large Send's data is written as it is, after its own header, and `flushed` runs once the
   * socket has written it (the caller must not touch those bytes before); without, it is copied.
   */
  write(message: IpcMessage, flushed?: (error?: Error | null) => void): boolean {
    if (this.#closed !== undefined) throw this.#closed;
    if (
      flushed !== undefined &&
      message.type === 'send' &&
      message.data.length >= SEND_NO_COPY_BYTES &&
      message.data.length + 5 <= IPC_MAX_FRAME
    ) {
      // The caller's bytes follow their own header (one writev per turn): no frame to allocate and
      // fill per 64 KiB.
      this.#cork.cork();
      const header = new Uint8Array(SEND_HEADER_BYTES);
      const view = new DataView(header.buffer);
      view.setUint32(0, message.data.length + 5);
      header[4] = IpcCommand.SEND;
      view.setUint32(5, message.connId);
      this.#socket.write(header);
      return this.#socket.write(message.data, flushed);
    }
    let frame: Uint8Array;
    try {
      frame = encodeIpcFrame(message);
    } catch (error) {
      throw driverError(
        DriverErrorCode.BAD_ARGUMENT,
        isPilotError(error) ? error.message : String(error),
        error,
      );
    }
    return flushed === undefined ? this.#socket.write(frame) : this.#socket.write(frame, flushed);
  }

  /**
   * Resolves once the socket can take more (at once if it can now); rejects when it closes. Every
   * writer waiting for the same 'drain' shares one listener pair and one promise (settled in the
   * order they asked): 50 datagrams waiting on one socket are not 50 'drain' listeners (Node warns
   * from 11 on, MaxListenersExceededWarning).
   */
  drained(): Promise<void> {
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    if (!this.#socket.writableNeedDrain) return Promise.resolve();
    if (this.#drain !== undefined) return this.#drain;
    const drain = new Promise<void>((resolve, reject) => {
      const done = (): void => {
        this.#socket.off('drain', done);
        this.#socket.off('close', done);
        this.#drain = undefined;
        if (this.#closed !== undefined) reject(this.#closed);
        else resolve();
      };
      this.#socket.on('drain', done);
      this.#socket.on('close', done);
    });
    this.#drain = drain;
    return drain;
  }

  /**
   * Sends `message` and settles with its reply of type `expect` (or the Error that answers it).
   * `settle` runs synchronously when the reply is read.
   */
  request(
    message: IpcMessage,
    expect: IpcMessageType,
    settle: PendingReply['settle'],
    matches?: PendingReply['matches'],
  ): void {
    this.write(message);
    this.#pending.push(matches === undefined ? { expect, settle } : { expect, settle, matches });
  }

  /** Requests sent on this channel and not answered yet that wait for a reply of type `expect`. */
  waitingFor(expect: IpcMessageType): number {
    let count = 0;
    for (const entry of this.#pending) if (entry.expect === expect) count++;
    return count;
  }

  /** Pauses reading while any blocker is registered (a stream whose reader is full). */
  block(blocker: object): void {
    if (this.#blockers.size === 0) this.#socket.pause();
    this.#blockers.add(blocker);
  }

  unblock(blocker: object): void {
    if (!this.#blockers.delete(blocker)) return;
    if (this.#blockers.size === 0 && this.#closed === undefined) this.#socket.resume();
  }

  close(): Promise<void> {
    if (this.#socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      this.#socket.once('close', () => resolve());
      this.#socket.end();
      // A daemon that never closes its side must not keep us waiting.
      this.#socket.destroySoon();
    });
  }

  #onData(chunk: Buffer): void {
    let payloads: Uint8Array[];
    try {
      payloads = this.#decoder.push(chunk);
    } catch (error) {
      this.#fail(`the daemon broke the IPC framing: ${String(error)}`, error);
      return;
    }
    for (const payload of payloads) {
      if (this.#closed !== undefined) return;
      if (payload.length === 0) {
        this.#fail('empty IPC message from the daemon', undefined);
        return;
      }
      let message: IpcMessage;
      try {
        message = decodeIpcMessage(payload);
      } catch (error) {
        this.#fail(`unreadable IPC message from the daemon: ${String(error)}`, error);
        return;
      }
      this.#dispatch(message);
    }
  }

  #dispatch(message: IpcMessage): void {
    switch (message.type) {
      case 'accept':
      case 'recv':
      case 'recvFrom':
        this.#events.onMessage(message);
        return;
      case 'closeOk': {
        // The reply to a Close, or the news that the peer closed: the connection learns either way.
        const index = this.#pending.findIndex(
          (entry) => entry.expect === 'closeOk' && (entry.matches === undefined || entry.matches(message)),
        );
        if (index >= 0) this.#pending.splice(index, 1)[0]?.settle(message);
        this.#events.onMessage(message);
        return;
      }
      case 'error': {
        const error = daemonError(message.code, message.message);
        const waiting = this.#pending.shift();
        if (waiting === undefined) this.#events.onStrayError(error);
        else waiting.settle(error);
        return;
      }
      default: {
        const index = this.#pending.findIndex((entry) => entry.expect === message.type);
        const waiting = index < 0 ? undefined : this.#pending.splice(index, 1)[0];
        if (waiting === undefined) {
          this.#events.onStrayError(
            driverError(DriverErrorCode.BAD_REPLY, `unexpected ${message.type} message from the daemon`),
          );
          return;
        }
        waiting.settle(message);
      }
    }
  }

  #fail(message: string, cause: unknown): void {
    this.#shutdown(driverError(DriverErrorCode.BAD_REPLY, message, cause));
    this.#socket.destroy();
  }

  #shutdown(reason: PilotError): void {
    if (this.#closed !== undefined) return;
    this.#closed = reason;
    const pending = this.#pending.splice(0);
    for (const entry of pending) entry.settle(reason);
    this.#blockers.clear();
    this.#events.onClose(reason);
  }
}

/**
 * The daemon's socket must be ours (or root's): a socket another local user made at that path —
 * first to /tmp/pilot.sock, say — would read every request and answer as the daemon. Checked
 * before connecting, so nothing is sent to it. An absent path is left to connect to report.
 */
export function checkSocketOwner(path: string): void {
  const uid = process.getuid?.();
  if (uid === undefined) return; // no owners to compare (Windows named pipes)
  let stat: Stats;
  try {
    stat = statSync(path);
  } catch {
    return;
  }
  if (!stat.isSocket())
    throw driverError(DriverErrorCode.NOT_RUNNING, `${path} is not a socket: no daemon listens there`);
  if (stat.uid !== uid && stat.uid !== 0)
    throw driverError(
      DriverErrorCode.UNTRUSTED_SOCKET,
      `refusing ${path}: it belongs to uid ${stat.uid}, not to you (uid ${uid}) — another user may be posing as the daemon. Use a socket in your PILOT_HOME (the default), or remove that one`,
    );
}
