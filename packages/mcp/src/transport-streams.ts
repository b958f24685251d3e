import type { Duplex } from 'node:stream';
import { type Address, parseAddress } from '@pilot/wire';
import type { StreamAcceptor, StreamDialer, StreamListener } from './stream-interfaces.js';

/** What `UdpTransport` from `@pilot/transport/node` offers, structurally (no import needed). */
export interface PilotStreamTransport {
  listen(port: number): void;
  unlisten(port: number): void;
  connect(address: Address, port: number): Promise<Duplex>;
  on(event: 'connection', listener: (stream: Duplex & { readonly localPort: number }) => void): unknown;
  off(event: 'connection', listener: (stream: Duplex & { readonly localPort: number }) => void): unknown;
}

/**
 * A `StreamDialer` + `StreamListener` straight over a `UdpTransport`, without a daemon: for
 * embedding, tests and benchmarks. Addresses are `N:NNNN.HHHH.LLLL` text.
 */
export function transportStreams(transport: PilotStreamTransport): StreamDialer & StreamListener {
  return {
    dial: (address, port) => transport.connect(parseAddress(address), port),
    listen: (port) => acceptOn(transport, port),
  };
}

function acceptOn(transport: PilotStreamTransport, port: number): StreamAcceptor {
  const queue: Duplex[] = [];
  let wake: (() => void) | undefined;
  let closed = false;
  const onConnection = (stream: Duplex & { readonly localPort: number }): void => {
    if (stream.localPort !== port) return;
    queue.push(stream);
    wake?.();
  };
  transport.listen(port);
  transport.on('connection', onConnection);
  return {
    async close() {
      if (closed) return;
      closed = true;
      transport.off('connection', onConnection);
      transport.unlisten(port);
      for (const stream of queue.splice(0)) stream.destroy();
      wake?.();
    },
    async *[Symbol.asyncIterator]() {
      while (!closed) {
        const next = queue.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    },
  };
}
