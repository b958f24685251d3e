import type { PilotStream } from '@pilot/transport/node';
import type { Address, IpcMessage } from '@pilot/wire';
import type { DaemonContext } from './daemon-context.js';
import { DEFAULT_DIAL_TIMEOUT } from './dialer.js';
import { DaemonErrorCode, daemonError, errorMessage, IpcErrorCode, ipcErrorCode } from './errors.js';
import type { IpcClient, IpcReply } from './ipc-server.js';
import { parseLocalFileRequest, sendLocalFile } from './local-file-send.js';
import { pipeToClient } from './stream-pipe.js';

// The IPC requests on streams: Bind, Dial, Send, SendFile, Close, and what a client leaves behind when it goes.

export function bindPort(ctx: DaemonContext, client: IpcClient, port: number): IpcMessage {
  ctx.ports.bind(client, port);
  return { type: 'bindOk', port };
}

/** Dial: DialOK once the stream is open; the piping starts right after the DialOK is written. */
export async function dialStream(
  ctx: DaemonContext,
  client: IpcClient,
  address: Address,
  port: number,
): Promise<IpcReply> {
  ctx.stats.dials++;
  let stream: PilotStream;
  try {
    stream = await ctx.dialer.dial(address, port, ctx.options.dialTimeout ?? DEFAULT_DIAL_TIMEOUT);
  } catch (error) {
    ctx.stats.dialFailures++;
    throw error;
  }
  if (client.closed) {
    stream.destroy();
    throw daemonError(DaemonErrorCode.CLOSED, 'client went away');
  }
  const entry = ctx.connections.add({
    stream,
    owner: client,
    service: undefined,
    localPort: stream.localPort,
    remote: address,
    remotePort: port,
  });
  // Until the DialOK leaves (it may wait for an earlier Dial's reply), the stream keeps its data;
  // a failure meanwhile must not go unheard.
  const early = (error: Error): void =>
    ctx.log.debug('dialed stream failed before its DialOK', { conn_id: entry.id, error: error.message });
  stream.on('error', early);
  return {
    // DialOK before the first Recv: the driver must know the ID before data for it arrives.
    message: { type: 'dialOk', connId: entry.id },
    sent: () => {
      stream.off('error', early);
      if (stream.destroyed) {
        // Gone while its DialOK was held: say so, as the piping would have.
        if (!entry.closeNotified) {
          entry.closeNotified = true;
          client.send({ type: 'closeOk', connId: entry.id });
        }
        ctx.connections.remove(entry.id);
        return;
      }
      pipeToClient(ctx, entry, client);
    },
  };
}

/** Send: data for a connection; a full stream pauses the client's socket until it drains. */
export function sendOnConnection(
  ctx: DaemonContext,
  client: IpcClient,
  connId: number,
  data: Uint8Array,
): void {
  const entry = ctx.connections.get(connId);
  if (entry === undefined || entry.owner === undefined) {
    client.error(IpcErrorCode.INVALID_ARGUMENT, `no connection ${connId}`);
    return;
  }
  const { stream } = entry;
  if (stream.writableEnded || stream.destroyed) {
    client.error(IpcErrorCode.CONNECTION_FAILED, `connection ${connId} is closed`);
    return;
  }
  entry.bytesSent += data.length;
  ctx.stats.bytesSent += data.length;
  // Handed over, not copied: the data is a view of a buffer Node read the socket into (a fresh one
  // per read, never reused) or of the decoder's join, and nothing writes to either again.
  if (!stream.writeHandedOver(data)) {
    client.pause();
    let resumed = false;
    const resume = (): void => {
      if (resumed) return;
      resumed = true;
      stream.off('drain', resume);
      stream.off('close', resume);
      client.resume();
    };
    stream.once('drain', resume);
    stream.once('close', resume);
  }
}

/** SendFile (pilot-ts extension): the daemon reads the client's file into its connection (local-file-send.ts). */
export async function sendFileOnConnection(
  ctx: DaemonContext,
  client: IpcClient,
  connId: number,
  json: string,
): Promise<IpcReply> {
  try {
    const request = parseLocalFileRequest(json);
    const entry = ctx.connections.get(connId);
    const ipcPath = ctx.ipc?.path;
    if (entry === undefined || entry.owner !== client || ipcPath === undefined)
      throw daemonError(DaemonErrorCode.INVALID_ARGUMENT, `no connection ${connId}`);
    const counted = (bytes: number): void => {
      entry.bytesSent += bytes;
      ctx.stats.bytesSent += bytes;
    };
    const result = await sendLocalFile(
      request,
      { stream: entry.stream, remotePort: entry.remotePort, counted },
      ipcPath,
    );
    return { message: { type: 'sendFileOk', json: JSON.stringify(result) } };
  } catch (error) {
    return { message: { type: 'error', code: ipcErrorCode(error), message: errorMessage(error) } };
  }
}

/** Close: FIN, then 10 s to finish the close; a recently closed ID is answered, not refused. */
export function closeConnection(ctx: DaemonContext, client: IpcClient, connId: number): IpcReply {
  const entry = ctx.connections.get(connId);
  if (entry === undefined) {
    if (ctx.connections.wasRecent(connId)) return { message: { type: 'closeOk', connId } };
    return { message: { type: 'error', code: IpcErrorCode.NOT_FOUND, message: `no connection ${connId}` } };
  }
  entry.closeNotified = true;
  ctx.connections.remove(connId);
  if (entry.owner === undefined || entry.owner !== client) {
    // Closing someone else's connection (pilotctl disconnect): tell its owner too.
    entry.owner?.send({ type: 'closeOk', connId });
  }
  entry.stream.end();
  ctx.lingering.linger(entry.stream, 10_000);
  return { message: { type: 'closeOk', connId } };
}

/** A client went away: its connections are closed (5 s to finish) and its ports released. */
export function releaseClient(ctx: DaemonContext, client: IpcClient): void {
  for (const entry of ctx.connections.ownedBy(client)) {
    entry.closeNotified = true;
    ctx.connections.remove(entry.id);
    entry.stream.end();
    ctx.lingering.linger(entry.stream, 5000);
  }
  ctx.ports.release(client);
}
