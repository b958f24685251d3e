import type { RemoteInfo, Socket } from 'node:dgram';
import {
  checkUdpAddress,
  encodeTunnelFrame,
  normalizeIp,
  peekTunnelMagic,
  TunnelMagic,
  type UdpAddress,
} from '@pilot/wire';
import { socketFamily } from '../_transact.js';
import { NatErrorCode, natError } from '../errors.js';
import { sendAddress } from '../send-address.js';

export interface PunchOptions {
  /** Milliseconds between punch frames. Default 100. */
  readonly intervalMs?: number;
  /** Give up after this long (NAT_TIMEOUT). Default 5000. */
  readonly timeoutMs?: number;
  /** PILP frames sent back to the address that answered, so the other side fixes its path too. Default 3. */
  readonly confirmations?: number;
  readonly signal?: AbortSignal;
}

export interface PunchResult {
  /** Where the peer's first tunnel frame actually came from: send to this address from now on. */
  readonly address: UdpAddress;
  /** Milliseconds from the first punch frame to the first frame from the peer. */
  readonly elapsedMs: number;
}

const TUNNEL_MAGICS: ReadonlySet<number> = new Set<number>(Object.values(TunnelMagic));

/** The PILP frame: the magic alone, as the reference sends it. */
export const PUNCH_FRAME: Uint8Array = encodeTunnelFrame({ kind: 'punch' });

/**
 * Hole punching on the caller's tunnel socket: sends PILP frames to `peer` (the endpoint the beacon
 * reported) every `intervalMs` until a tunnel frame (any PILx magic) arrives from the peer's IP,
 * from ANY port, since NATs remap ports, then answers that address with `confirmations` PILP
 * frames and resolves with it. Which address to use is decided by what arrived, never by what was
 * expected; authenticating the peer is the tunnel's job (PILA).
 */
export function punch(socket: Socket, peer: UdpAddress, options: PunchOptions = {}): Promise<PunchResult> {
  checkUdpAddress(peer);
  const interval = options.intervalMs ?? 100;
  const confirmations = options.confirmations ?? 3;
  const family = socketFamily(socket);
  const peerIp = normalizeIp(peer.address);
  const started = performance.now();
  return new Promise<PunchResult>((resolve, reject) => {
    const sendTo = (to: UdpAddress): void => {
      socket.send(PUNCH_FRAME, to.port, sendAddress(to, family), () => {});
    };
    const finish = (error: unknown, result?: PunchResult): void => {
      clearInterval(ticker);
      clearTimeout(deadline);
      socket.off('message', onMessage);
      socket.off('close', onClose);
      options.signal?.removeEventListener('abort', onAbort);
      if (result !== undefined) resolve(result);
      else reject(error);
    };
    const onMessage = (message: Buffer, from: RemoteInfo): void => {
      if (normalizeIp(from.address) !== peerIp) return;
      const magic = peekTunnelMagic(new Uint8Array(message.buffer, message.byteOffset, message.length));
      if (magic === undefined || !TUNNEL_MAGICS.has(magic)) return;
      const address: UdpAddress = { address: from.address, port: from.port };
      for (let i = 0; i < confirmations; i++) sendTo(address);
      finish(undefined, { address, elapsedMs: performance.now() - started });
    };
    const onClose = (): void => finish(natError(NatErrorCode.ABORTED, 'the socket closed'));
    const onAbort = (): void => finish(natError(NatErrorCode.ABORTED, 'aborted', options.signal?.reason));
    const ticker = setInterval(() => sendTo(peer), interval);
    const deadline = setTimeout(
      () =>
        finish(
          natError(NatErrorCode.TIMEOUT, `no frame from ${peerIp} within ${options.timeoutMs ?? 5000} ms`),
        ),
      options.timeoutMs ?? 5000,
    );
    if (options.signal?.aborted === true) {
      onAbort();
      return;
    }
    options.signal?.addEventListener('abort', onAbort);
    socket.on('message', onMessage);
    socket.on('close', onClose);
    sendTo(peer);
  });
}
