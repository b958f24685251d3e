import { createSocket, type Socket } from 'node:dgram';

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

export interface Received {
  readonly bytes: Uint8Array;
  readonly from: Endpoint;
}

/**
 * A loopback UDP socket with a promise-based receive, enough to walk through a protocol exchange
 * step by step. Datagrams that arrive before anyone waits are queued.
 */
export class DatagramSocket {
  readonly #socket: Socket;
  readonly #queue: Received[] = [];
  readonly #waiters: Array<(received: Received) => void> = [];

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('message', (message, info) => {
      const received = { bytes: new Uint8Array(message), from: { address: info.address, port: info.port } };
      const waiter = this.#waiters.shift();
      if (waiter) waiter(received);
      else this.#queue.push(received);
    });
  }

  static async open(): Promise<DatagramSocket> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new DatagramSocket(socket);
  }

  get endpoint(): Endpoint {
    const { address, port } = this.#socket.address();
    return { address, port };
  }

  send(bytes: Uint8Array, to: Endpoint): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#socket.send(bytes, to.port, to.address, (error) => (error ? reject(error) : resolve()));
    });
  }

  receive(timeoutMs = 2000): Promise<Received> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const waiter = (received: Received): void => {
        clearTimeout(timer);
        resolve(received);
      };
      const timer = setTimeout(() => {
        const index = this.#waiters.indexOf(waiter);
        if (index >= 0) this.#waiters.splice(index, 1);
        reject(new Error(`no datagram within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }
}
