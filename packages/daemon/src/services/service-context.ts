import type { Duplex } from 'node:stream';
import { PilotStream } from '@pilot/transport/node';
import type { Logger } from '../logger.js';
import type { Mailbox } from '../mailbox.js';

/** A stream a service serves, with who is on the other end. */
export interface ServiceStream {
  readonly stream: Duplex;
  /** The peer's address, as text. */
  readonly remote: string;
  readonly remotePort: number;
  readonly localPort: number;
}

/** What services may use. */
export interface ServiceContext {
  readonly log: Logger;
  readonly mailbox: Mailbox;
  /** Emits a webhook event. */
  readonly emit: (event: string, data: Record<string, unknown>) => void;
}

/**
 * Writes with back-pressure: pauses `from` until `to` drains. `handedOver`: nothing modifies `chunk`
 * again (a chunk a stream received), so a Pilot stream queues it without a copy.
 */
export function writeOrPause(to: Duplex, chunk: Uint8Array, from: Duplex, handedOver = false): void {
  const accepted = handedOver && to instanceof PilotStream ? to.writeHandedOver(chunk) : to.write(chunk);
  if (!accepted) {
    from.pause();
    to.once('drain', () => from.resume());
  }
}
