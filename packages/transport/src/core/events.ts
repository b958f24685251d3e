import type { PilotError } from '@pilot/wire';
import type { Address } from '../wire.js';
import type { Connection } from './connection.js';

/** A datagram received on the endpoint (protocol 0x02). */
export interface Datagram {
  readonly peer: Address;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly payload: Uint8Array;
}

/**
 * What the application learns from `Endpoint.pollEvent()`. Events only say "look"; the state is
 * read from the connection (`read()`, `writableBytes`, `state`).
 */
export type TransportEvent =
  /** A listener on `port` has an established connection waiting in `accept(port)`. */
  | { readonly type: 'incoming'; readonly port: number }
  /** An outbound connection completed its handshake. */
  | { readonly type: 'connected'; readonly connection: Connection }
  /** In-order bytes (or the end of the stream) can be read. */
  | { readonly type: 'readable'; readonly connection: Connection }
  /** Send-buffer space freed after a write that did not fit. */
  | { readonly type: 'writable'; readonly connection: Connection }
  /** The connection is gone; `error` is set unless it closed cleanly. */
  | { readonly type: 'closed'; readonly connection: Connection; readonly error: PilotError | undefined }
  | { readonly type: 'datagram'; readonly datagram: Datagram };
