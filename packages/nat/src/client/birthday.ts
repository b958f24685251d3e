import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { checkUdpAddress, normalizeIp, peekTunnelMagic, TunnelMagic, type UdpAddress } from '@pilot/wire';
import { socketFamily } from '../_transact.js';
import { NatErrorCode, natError } from '../errors.js';
import { sendAddress } from '../send-address.js';
import { PUNCH_FRAME, type PunchResult } from './punch.js';

const BIND_BATCH = 32;

const TUNNEL_MAGICS: ReadonlySet<number> = new Set<number>(Object.values(TunnelMagic));

function isTunnelFrame(message: Buffer): boolean {
  const magic = peekTunnelMagic(new Uint8Array(message.buffer, message.byteOffset, message.length));
  return magic !== undefined && TUNNEL_MAGICS.has(magic);
}

export interface BirthdayHardOptions {
  /** Sockets to open towards the easy side. Default 256. */
  readonly sockets?: number;
  /** How often each socket re-sends its punch frame (keeps the mappings, beats loss). Default 1000 ms. */
  readonly resendMs?: number;
  /** Default 10 000 ms. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface BirthdayHardResult extends PunchResult {
  /** The socket whose mapping the easy side found. The caller owns it (and must close it). */
  readonly socket: Socket;
  readonly socketsOpened: number;
}

/**
 * The hard (endpoint-dependent mapping) side of birthday probing: opens `sockets` new UDP sockets
 * and sends punch frames from each to the easy side's endpoint, so the NAT creates that many
 * mappings, each open to the easy side only. The easy side probes random ports of our public
 * address (`birthdayProbeEasy`); the first tunnel frame that reaches one of our sockets from the
 * peer's IP wins: we answer it from that socket, close the others, and hand the winner over.
 */
export async function birthdayPunchHard(
  peer: UdpAddress,
  options: BirthdayHardOptions = {},
): Promise<BirthdayHardResult> {
  checkUdpAddress(peer);
  const count = options.sockets ?? 256;
  const type = isIP(normalizeIp(peer.address)) === 6 ? 'udp6' : 'udp4';
  const host = sendAddress(peer, type);
  const peerIp = normalizeIp(peer.address);
  const sockets: Socket[] = [];
  const closeAll = (keep?: Socket): void => {
    for (const socket of sockets) if (socket !== keep) socket.close();
  };
  const bind = async (): Promise<void> => {
    const socket = createSocket(type);
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    // A send error is a lost probe, not a failure of the whole attempt.
    socket.on('error', () => {});
  };
  try {
    // In batches, checking the signal between them: a plain punch that wins meanwhile must not
    // wait for hundreds of binds (on a loaded machine that was tens of milliseconds).
    for (let opened = 0; opened < count; opened += BIND_BATCH) {
      if (options.signal?.aborted === true)
        throw natError(NatErrorCode.ABORTED, 'aborted', options.signal.reason);
      await Promise.all(Array.from({ length: Math.min(BIND_BATCH, count - opened) }, bind));
    }
  } catch (error) {
    closeAll();
    throw error;
  }
  const started = performance.now();
  return new Promise<BirthdayHardResult>((resolve, reject) => {
    const sendAll = (): void => {
      for (const socket of sockets) socket.send(PUNCH_FRAME, peer.port, host, () => {});
    };
    const finish = (error: unknown, result?: BirthdayHardResult): void => {
      clearInterval(ticker);
      clearTimeout(deadline);
      options.signal?.removeEventListener('abort', onAbort);
      for (const [socket, listener] of listeners) socket.off('message', listener);
      closeAll(result?.socket);
      if (result !== undefined) resolve(result);
      else reject(error);
    };
    const listeners = sockets.map((socket) => {
      const listener = (message: Buffer, from: RemoteInfo): void => {
        if (normalizeIp(from.address) !== peerIp || !isTunnelFrame(message)) return;
        const address: UdpAddress = { address: from.address, port: from.port };
        for (let i = 0; i < 3; i++) socket.send(PUNCH_FRAME, from.port, from.address, () => {});
        finish(undefined, { socket, address, elapsedMs: performance.now() - started, socketsOpened: count });
      };
      socket.on('message', listener);
      return [socket, listener] as const;
    });
    const onAbort = (): void => finish(natError(NatErrorCode.ABORTED, 'aborted', options.signal?.reason));
    const ticker = setInterval(sendAll, options.resendMs ?? 1000);
    const deadline = setTimeout(
      () => finish(natError(NatErrorCode.TIMEOUT, `no probe reached any of ${count} sockets`)),
      options.timeoutMs ?? 10_000,
    );
    if (options.signal?.aborted === true) {
      onAbort();
      return;
    }
    options.signal?.addEventListener('abort', onAbort);
    sendAll();
  });
}

export interface BirthdayEasyOptions {
  /** Probe rate, datagrams per second. Default 500. */
  readonly probesPerSecond?: number;
  /** Give up after this many probes. Default 8000. */
  readonly maxProbes?: number;
  /** Ports to probe, inclusive. Default [1024, 65535]. */
  readonly portRange?: readonly [number, number];
  /** Default 10 000 ms. */
  readonly timeoutMs?: number;
  /** Random numbers in [0, 1) (tests pass a seeded one). Default Math.random. */
  readonly random?: () => number;
  readonly signal?: AbortSignal;
}

export interface BirthdayEasyResult extends PunchResult {
  readonly probes: number;
}

/**
 * The easy (endpoint-independent mapping) side of birthday probing: from the caller's socket,
 * sends punch frames to random, distinct ports of the hard side's IP at a bounded rate until a
 * tunnel frame comes back from that IP (any port), then answers it. With n sockets open on the hard
 * side among P ports, each probe hits with probability n/P: 256 sockets and 64 512 ports need about
 * 250 probes on average, half a second at 500 probes/s.
 */
export function birthdayProbeEasy(
  socket: Socket,
  peerIp: string,
  options: BirthdayEasyOptions = {},
): Promise<BirthdayEasyResult> {
  checkUdpAddress({ address: peerIp, port: 1 });
  const [low, high] = options.portRange ?? [1024, 65_535];
  if (!(Number.isInteger(low) && Number.isInteger(high) && low >= 1 && high <= 65_535 && low <= high)) {
    throw natError(NatErrorCode.OUT_OF_RANGE, `bad port range ${low}–${high}`);
  }
  const rate = options.probesPerSecond ?? 500;
  const maxProbes = Math.min(options.maxProbes ?? 8000, high - low + 1);
  const random = options.random ?? Math.random;
  const family = socketFamily(socket);
  const target = normalizeIp(peerIp);
  const host = sendAddress({ address: target, port: 1 }, family);
  const tried = new Set<number>();
  const started = performance.now();
  const tickMs = 10;
  let credit = 0;
  return new Promise<BirthdayEasyResult>((resolve, reject) => {
    const finish = (error: unknown, result?: BirthdayEasyResult): void => {
      clearInterval(ticker);
      clearTimeout(deadline);
      socket.off('message', onMessage);
      options.signal?.removeEventListener('abort', onAbort);
      if (result !== undefined) resolve(result);
      else reject(error);
    };
    const probe = (): void => {
      credit += (rate * tickMs) / 1000;
      while (credit >= 1 && tried.size < maxProbes) {
        credit -= 1;
        let port: number;
        do port = low + Math.floor(random() * (high - low + 1));
        while (tried.has(port));
        tried.add(port);
        socket.send(PUNCH_FRAME, port, host, () => {});
      }
    };
    const onMessage = (message: Buffer, from: RemoteInfo): void => {
      if (normalizeIp(from.address) !== target || !isTunnelFrame(message)) return;
      for (let i = 0; i < 3; i++) socket.send(PUNCH_FRAME, from.port, from.address, () => {});
      finish(undefined, {
        address: { address: from.address, port: from.port },
        elapsedMs: performance.now() - started,
        probes: tried.size,
      });
    };
    const onAbort = (): void => finish(natError(NatErrorCode.ABORTED, 'aborted', options.signal?.reason));
    const ticker = setInterval(probe, tickMs);
    const deadline = setTimeout(
      () => finish(natError(NatErrorCode.TIMEOUT, `no answer after ${tried.size} probes`)),
      options.timeoutMs ?? 10_000,
    );
    if (options.signal?.aborted === true) {
      onAbort();
      return;
    }
    options.signal?.addEventListener('abort', onAbort);
    socket.on('message', onMessage);
    probe();
  });
}
