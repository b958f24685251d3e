import type { PilotStream } from '@pilot/transport/node';
import { formatAddress } from '@pilot/wire';
import type { ConnectionEntry } from './connection-table.js';
import type { DaemonContext } from './daemon-context.js';
import { errorMessage } from './errors.js';
import type { IpcClient } from './ipc-server.js';

/**
 * Connects a stream to its IPC owner: Recv for data, CloseOK when the peer closes, back-pressure
 * both ways (the IPC → stream direction is the Send handler's, ipc-streams.ts).
 */
export function pipeToClient(ctx: DaemonContext, entry: ConnectionEntry, client: IpcClient): void {
  const { stream } = entry;
  stream.on('data', (chunk: Uint8Array) => {
    entry.bytesRecv += chunk.length;
    ctx.stats.bytesRecv += chunk.length;
    if (!client.send({ type: 'recv', connId: entry.id, data: chunk })) {
      stream.pause();
      client.drained(() => stream.resume());
    }
  });
  const notify = (): void => {
    if (entry.closeNotified) return;
    entry.closeNotified = true;
    client.send({ type: 'closeOk', connId: entry.id });
  };
  stream.on('end', () => {
    notify();
    // The reference closes both directions when the peer's FIN arrives.
    stream.end();
  });
  stream.on('error', (error: Error) => {
    const code = (error as { code?: string }).code ?? '';
    const event =
      code === 'TRANSPORT_IDLE_TIMEOUT'
        ? 'conn.idle_timeout'
        : code === 'TRANSPORT_PEER_DEAD'
          ? 'conn.dead_peer'
          : 'conn.rst';
    ctx.emit(event, { conn_id: entry.id, peer: formatAddress(entry.remote), error: error.message });
    ctx.log.debug('connection ended with an error', { conn_id: entry.id, error: errorMessage(error) });
    notify();
  });
  stream.on('close', () => {
    notify();
    ctx.connections.remove(entry.id);
    ctx.emit('conn.fin', { conn_id: entry.id, peer: formatAddress(entry.remote) });
  });
}

/** Streams we closed, each given a while to finish its close with the peer before it is destroyed. */
export class Lingering {
  readonly #timers = new Set<NodeJS.Timeout>();

  /** `stream` gets `ms` to finish its close; then it is destroyed. */
  linger(stream: PilotStream, ms: number): void {
    if (stream.destroyed) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      stream.destroy();
    }, ms);
    timer.unref();
    this.#timers.add(timer);
    stream.once('close', () => {
      clearTimeout(timer);
      this.#timers.delete(timer);
    });
  }

  /** At shutdown: the transport's close destroys what is left. */
  clear(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }
}
