import { createSocket, type Socket } from 'node:dgram';
import type { UdpAddress } from '../src/index.js';

/** A UDP socket bound to 127.0.0.1 on a free port. */
export async function udp(): Promise<Socket> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return socket;
}

export function addressOf(socket: Socket): UdpAddress {
  const { address, port } = socket.address();
  return { address, port };
}

export function closeAll(sockets: readonly Socket[]): Promise<void> {
  return Promise.all(
    sockets.map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))),
  ).then(() => {});
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Collects every datagram a socket receives. */
export function collect(socket: Socket): Array<{ bytes: Uint8Array; from: UdpAddress }> {
  const out: Array<{ bytes: Uint8Array; from: UdpAddress }> = [];
  socket.on('message', (message, from) =>
    out.push({ bytes: new Uint8Array(message), from: { address: from.address, port: from.port } }),
  );
  return out;
}

export function send(socket: Socket, bytes: Uint8Array, to: UdpAddress): Promise<void> {
  return new Promise((resolve) => socket.send(bytes, to.port, to.address, () => resolve()));
}

/** Waits until `check` is true, polling every 10 ms, up to `ms`. */
export async function until(check: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}
