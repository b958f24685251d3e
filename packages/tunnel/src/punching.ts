import type { RemoteInfo, Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import {
  birthdayProbeEasy,
  birthdayPunchHard,
  classifyNat,
  formatUdpAddress,
  type NatMapping,
  normalizeIp,
  PUNCH_FRAME,
  type UdpAddress,
} from '@pilot/nat';
import type { TunnelContext } from './context.js';
import type { Via } from './peer.js';

/** Punch frames (and our PILA) sent towards a punch command's endpoint, and for how long. */
const PUNCH_INTERVAL_MS = 150;
/** A direct punch that has produced nothing by then starts birthday probing (when our mapping is known). */
const BIRTHDAY_AFTER_MS = 600;

interface PunchAttempt {
  readonly target: UdpAddress;
  readonly started: number;
  readonly timer: NodeJS.Timeout;
  readonly stopAt: number;
  birthday: boolean;
  done: boolean;
  /** Stops the attempt's birthday probing once another path authenticated. */
  abort: AbortController | undefined;
}

/**
 * Hole punching: the beacon's punch commands (PILP and our PILA towards the endpoint for a while),
 * birthday probing when nothing comes (easy side from the tunnel socket, hard side from many
 * sockets, whose winner becomes a peer's side socket), and classifying our NAT's mapping (which
 * decides the birthday role).
 */
export class Punching {
  private readonly punches = new Map<string, PunchAttempt>();
  private readonly sideSockets = new Set<Socket>();

  constructor(private readonly ctx: TunnelContext) {}

  /**
   * Classifies our NAT's mapping from the tunnel socket against the two `reflectors` (it decides our
   * role in birthday probing); undefined without reflectors or when they do not answer.
   */
  async classify(): Promise<NatMapping | undefined> {
    const ctx = this.ctx;
    const reflectors = ctx.options.reflectors;
    const transport = ctx.transport;
    if (reflectors === undefined || transport === undefined) return ctx.mapping;
    try {
      const result = await classifyNat(transport.socket, reflectors);
      ctx.mapping = result.mapping;
      ctx.log('info', 'NAT classified', { mapping: result.mapping });
    } catch (error) {
      ctx.log('warn', 'NAT classification failed', { error: String(error) });
    }
    return ctx.mapping;
  }

  /** A punch command: PILP and our PILA to that endpoint for a while, birthday probing if nothing comes. */
  onPunchCommand(target: UdpAddress): void {
    const ctx = this.ctx;
    if (ctx.closed) return;
    ctx.count('punch_commands');
    // --transport tcp: no UDP paths are made, whoever asks.
    if (ctx.tlsPath.mode === 'tcp') return;
    const key = formatUdpAddress(target);
    const existing = this.punches.get(key);
    if (existing !== undefined && !existing.done) return;
    const started = performance.now();
    const lifetime = Math.max(ctx.directTimeoutMs, BIRTHDAY_AFTER_MS + 1000);
    const attempt: PunchAttempt = {
      target,
      started,
      stopAt: started + lifetime,
      birthday: false,
      done: false,
      abort: undefined,
      timer: setInterval(() => this.punchTick(key, attempt), PUNCH_INTERVAL_MS),
    };
    this.punches.set(key, attempt);
    this.punchTick(key, attempt);
  }

  private punchTick(key: string, attempt: PunchAttempt): void {
    const ctx = this.ctx;
    const now = performance.now();
    if (attempt.done || now >= attempt.stopAt || ctx.closed) {
      clearInterval(attempt.timer);
      attempt.done = true;
      if (this.punches.get(key) === attempt) this.punches.delete(key);
      return;
    }
    ctx.sendRawTo(PUNCH_FRAME, attempt.target);
    if (ctx.encrypt) ctx.sendRawTo(ctx.keys.pilaFrame(), attempt.target);
    else ctx.sendRawTo(PUNCH_FRAME, attempt.target);
    if (!attempt.birthday && now - attempt.started >= BIRTHDAY_AFTER_MS) {
      attempt.birthday = true;
      this.startBirthday(attempt);
    }
  }

  /** An authenticated frame arrived: punches towards that IP have done their job. */
  settlePunch(via: Via): void {
    if (via.kind === 'relay' || this.punches.size === 0) return;
    const ip = normalizeIp(via.from.address);
    for (const [key, attempt] of this.punches) {
      if (normalizeIp(attempt.target.address) !== ip) continue;
      attempt.done = true;
      attempt.abort?.abort();
      clearInterval(attempt.timer);
      this.punches.delete(key);
    }
  }

  private startBirthday(attempt: PunchAttempt): void {
    const ctx = this.ctx;
    const sockets = ctx.options.birthdaySockets ?? 256;
    const transport = ctx.transport;
    if (ctx.mapping === undefined || sockets <= 0 || transport === undefined || !ctx.encrypt) return;
    const abort = new AbortController();
    ctx.aborts.add(abort);
    attempt.abort = abort;
    const timeoutMs = Math.max(2000, attempt.stopAt - performance.now() + 2000);
    const done = (): void => {
      ctx.aborts.delete(abort);
    };
    ctx.count('birthday_started');
    if (ctx.mapping === 'hard') {
      birthdayPunchHard(attempt.target, { sockets, timeoutMs, resendMs: 500, signal: abort.signal }).then(
        (result) => {
          done();
          if (ctx.closed) {
            void closeSocket(result.socket);
            return;
          }
          ctx.count('birthday_hit');
          this.adoptSide(result.socket, result.address);
        },
        (error: unknown) => {
          done();
          ctx.log('debug', 'birthday (hard side) ended', { error: String(error) });
        },
      );
    } else {
      birthdayProbeEasy(transport.socket, attempt.target.address, { timeoutMs, signal: abort.signal }).then(
        (result) => {
          done();
          if (ctx.closed) return;
          ctx.count('birthday_hit');
          for (let i = 0; i < 3; i++) ctx.sendRawTo(ctx.keys.pilaFrame(), result.address);
        },
        (error: unknown) => {
          done();
          ctx.log('debug', 'birthday (easy side) ended', { error: String(error) });
        },
      );
    }
  }

  /** A birthday socket whose mapping the peer found: frames on it are ours; it joins a peer on its first PILA. */
  private adoptSide(socket: Socket, peerAddress: UdpAddress): void {
    const ctx = this.ctx;
    this.sideSockets.add(socket);
    socket.on('message', (message: Buffer, remote: RemoteInfo) => {
      if (ctx.closed) return;
      const bytes = new Uint8Array(message.buffer, message.byteOffset, message.length);
      const packet = ctx.sealing.openTunnelFrame(bytes, {
        kind: 'side',
        socket,
        from: { address: remote.address, port: remote.port },
      });
      if (packet !== undefined) ctx.transport?.receivePacket(packet);
    });
    for (let i = 0; i < 3; i++)
      socket.send(ctx.keys.pilaFrame(), peerAddress.port, peerAddress.address, () => {});
    // Unclaimed after a while (the peer never authenticated on it): give the socket back.
    const timer = setTimeout(() => {
      ctx.timers.delete(timer);
      const claimed = [...ctx.peerTable.values()].some((peer) => peer.side === socket);
      if (!claimed) this.releaseSide(socket);
    }, 10_000);
    timer.unref();
    ctx.timers.add(timer);
  }

  releaseSide(socket: Socket): void {
    if (!this.sideSockets.delete(socket)) return;
    void closeSocket(socket);
  }

  /** Stops the punches (their birthday probing is aborted through `ctx.aborts`) and closes side sockets. */
  stopPunches(): void {
    for (const attempt of this.punches.values()) clearInterval(attempt.timer);
    this.punches.clear();
  }

  async closeSockets(): Promise<void> {
    await Promise.all([...this.sideSockets].map((socket) => closeSocket(socket)));
    this.sideSockets.clear();
  }
}

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve();
    }
  });
}
