import type { Duplex } from 'node:stream';

/** Opens a stream to a virtual port of a node. The daemon's `Driver` satisfies it structurally. */
export interface StreamDialer {
  dial(address: string, port: number): Promise<Duplex>;
}

/**
 * The streams accepted on one port, until `close()`. `ready`, when present, settles once the port is
 * bound (the driver's `Listener` binds asynchronously), so a refused bind is reported at once.
 */
export type StreamAcceptor = AsyncIterable<Duplex> & {
  close(): Promise<void>;
  readonly ready?: Promise<unknown>;
};

/** Accepts streams on a virtual port. The daemon's `Driver` satisfies it structurally. */
export interface StreamListener {
  listen(port: number): StreamAcceptor | Promise<StreamAcceptor>;
}

/** The registered-range port MCP uses when none is given (the spec assigns it to nothing else). */
export const DEFAULT_MCP_PORT = 1010;
