import type { PilotStream } from '@pilot/transport/node';
import type { Address } from '@pilot/wire';
import type { IpcClient } from './ipc-server.js';

/** A stream the daemon holds: owned by an IPC client (dialed or accepted) or by a built-in service. */
export interface ConnectionEntry {
  readonly id: number;
  readonly stream: PilotStream;
  readonly owner: IpcClient | undefined;
  /** The service that serves it (`echo`, `dataexchange`, …) when no IPC client owns it. */
  readonly service: string | undefined;
  readonly localPort: number;
  readonly remote: Address;
  readonly remotePort: number;
  readonly openedAt: number;
  bytesSent: number;
  bytesRecv: number;
  /** CloseOK has been sent to the owner (by a Close, or because the peer closed). */
  closeNotified: boolean;
}

/** Connection IDs (u32, never 0, not reused while a recent one may still be named) → entries. */
export class ConnectionTable {
  readonly #entries = new Map<number, ConnectionEntry>();
  readonly #recent = new Set<number>();
  #next = 1;
  opened = 0;

  get size(): number {
    return this.#entries.size;
  }

  add(
    fields: Omit<ConnectionEntry, 'id' | 'openedAt' | 'bytesSent' | 'bytesRecv' | 'closeNotified'>,
  ): ConnectionEntry {
    let id = this.#next;
    while (this.#entries.has(id) || this.#recent.has(id) || id === 0) id = (id + 1) >>> 0;
    this.#next = (id + 1) >>> 0 || 1;
    const entry: ConnectionEntry = {
      ...fields,
      id,
      openedAt: Date.now(),
      bytesSent: 0,
      bytesRecv: 0,
      closeNotified: false,
    };
    this.#entries.set(id, entry);
    this.opened++;
    return entry;
  }

  get(id: number): ConnectionEntry | undefined {
    return this.#entries.get(id);
  }

  /** Whether `id` was open not long ago (a Close for it is answered, not refused). */
  wasRecent(id: number): boolean {
    return this.#recent.has(id);
  }

  remove(id: number): ConnectionEntry | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    this.#entries.delete(id);
    this.#recent.add(id);
    if (this.#recent.size > 4096) {
      const oldest = this.#recent.values().next().value;
      if (oldest !== undefined) this.#recent.delete(oldest);
    }
    return entry;
  }

  values(): ConnectionEntry[] {
    return [...this.#entries.values()];
  }

  ownedBy(client: IpcClient): ConnectionEntry[] {
    return this.values().filter((entry) => entry.owner === client);
  }
}
