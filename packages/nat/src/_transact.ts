import type { RemoteInfo, Socket } from 'node:dgram';
import type { UdpAddress } from '@pilot/wire';
import { NatErrorCode, natError } from './errors.js';
import { sendAddress } from './send-address.js';

/** Retransmission schedule of a request/response exchange on a caller-owned socket. */
export interface RetransmitOptions {
  /** First retransmission timeout in ms; it doubles after each send (RFC 8489 §6.2.1). Default 500. */
  readonly rto?: number;
  /** Retransmissions after the first send (Rc − 1). Default 6. */
  readonly retries?: number;
  /** Overall deadline in ms; default: the RFC's Rm schedule (RTO·(2^(retries+1) − 1) + 16·RTO). */
  readonly timeout?: number;
  /** Aborts the wait (the promise rejects with NAT_ABORTED). */
  readonly signal?: AbortSignal;
}

/** 'udp4' or 'udp6', from the bound socket (an unbound one is treated as udp4). */
export function socketFamily(socket: Socket): 'udp4' | 'udp6' {
  try {
    return socket.address().family === 'IPv6' ? 'udp6' : 'udp4';
  } catch {
    return 'udp4';
  }
}

/**
 * Sends `request` to `target` on the schedule of `options` until `accept` returns a value for a
 * received datagram (or throws, which rejects). Other datagrams are left to the socket's other
 * listeners. The listener and timers are removed however it ends.
 */
export function transact<T>(
  socket: Socket,
  target: UdpAddress,
  request: Uint8Array,
  accept: (message: Uint8Array, from: RemoteInfo) => T | undefined,
  options: RetransmitOptions = {},
): Promise<T> {
  const rto = options.rto ?? 500;
  const retries = options.retries ?? 6;
  const timeout = options.timeout ?? rto * (2 ** (retries + 1) - 1) + 16 * rto;
  const host = sendAddress(target, socketFamily(socket));
  return new Promise<T>((resolve, reject) => {
    let sent = 0;
    let retransmit: NodeJS.Timeout | undefined;
    const finish = (error: unknown, value?: T): void => {
      clearTimeout(retransmit);
      clearTimeout(deadline);
      socket.off('message', onMessage);
      socket.off('close', onClose);
      options.signal?.removeEventListener('abort', onAbort);
      if (error === undefined) resolve(value as T);
      else reject(error);
    };
    const send = (): void => {
      socket.send(request, target.port, host, () => {
        // A send error (EHOSTUNREACH on a lab link going down) is a lost datagram: the schedule retries.
      });
      sent++;
      if (sent <= retries) retransmit = setTimeout(send, rto * 2 ** (sent - 1));
    };
    const onMessage = (message: Buffer, from: RemoteInfo): void => {
      let value: T | undefined;
      try {
        value = accept(new Uint8Array(message.buffer, message.byteOffset, message.length), from);
      } catch (error) {
        finish(error);
        return;
      }
      if (value !== undefined) finish(undefined, value);
    };
    const onClose = (): void => finish(natError(NatErrorCode.ABORTED, 'the socket closed'));
    const onAbort = (): void => finish(natError(NatErrorCode.ABORTED, 'aborted', options.signal?.reason));
    const deadline = setTimeout(
      () =>
        finish(
          natError(
            NatErrorCode.TIMEOUT,
            `no answer from ${target.address}:${target.port} after ${sent} sends`,
          ),
        ),
      timeout,
    );
    if (options.signal?.aborted === true) {
      onAbort();
      return;
    }
    options.signal?.addEventListener('abort', onAbort);
    socket.on('message', onMessage);
    socket.on('close', onClose);
    send();
  });
}
