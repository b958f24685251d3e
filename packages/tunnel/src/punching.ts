import type { RemoteInfo, Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { birthdayProbeEasy, birthdayPunchHard, classifyNat, type NatMapping, PUNCH_FRAME } from '@pilot/nat';
import { formatUdpAddress, normalizeIp, type UdpAddress } from '@pilot/wire';
import type { TunnelContext } from './context.js';
import type { Via } from './peer.js';
import { PunchBudget, type PunchBudgetCounters, UNSOLICITED_PUNCHES } from './punch-budget.js';

/** Punch frames (and our PILA) sent towards a punch command's endpoint, and for how long. */
const PUNCH_INTERVAL_MS = 150;
/** A direct punch that has produced nothing by then starts birthday probing (when our mapping is known). */
const BIRTHDAY_AFTER_MS = 600;
/** How long a solicited attempt waits for the registry to vouch for the peer's IP before giving up birthday. */
const BIRTHDAY_VOUCH_WAIT_MS = 2500;
/** Registry queries "who intends to reach us" caused by unsolicited commands: at most one per this. */
const ASKERS_QUERY_MS = 1000;
/** Our own birthday intent towards one peer is declared to the registry at most this often. */
const INTENT_EVERY_MS = 10_000;
/** PILPs from a peer we punch towards that we answer with our PILA, per attempt. */
const PILP_ANSWERS_PER_ATTEMPT = 4;
/** The stats names of the budget's counters (tunnel stats, `pilotctl info`). */
const COUNTER_STATS: Readonly<Record<keyof PunchBudgetCounters, string>> = {
  punchSolicited: 'punch_solicited',
  punchUnsolicited: 'punch_unsolicited',
  punchUnsolicitedRefused: 'punch_unsolicited_refused',
  punchAttemptsRefused: 'punch_attempts_refused',
  punchUnsolicitedBytes: 'punch_unsolicited_bytes',
  birthdayRefusedUnvouched: 'birthday_refused_unvouched',
  birthdayRefusedBusy: 'birthday_refused_busy',
};

interface PunchAttempt {
  readonly target: UdpAddress;
  readonly started: number;
  readonly timer: NodeJS.Timeout;
  readonly stopAt: number;
  birthday: boolean;
  done: boolean;
  /** PILPs from the target's IP answered with our PILA (its NAT opened a new mapping towards us). */
  pilpAnswers: number;
  /** Stops the attempt's birthday probing once another path authenticated. */
  abort: AbortController | undefined;
}

/**
 * Hole punching: the beacon's punch commands, birthday probing when nothing comes (easy side from
 * the tunnel socket, hard side from many sockets, whose winner becomes a peer's side socket), and
 * classifying our NAT's mapping (which decides the birthday role).
 *
 * Within budgets (punch-budget.ts): a command that answers a punch request of ours gets the full
 * attempt (PILP and our PILA every 150 ms, birthday probing after 600 ms); any other command gets
 * the reference's three PILPs, which open our NAT for the requester's own PILA (answered one for one)
 * and nothing more, unless the registry vouches that a node at that IP intends to reach us (its
 * signed birthday intent): then it gets the full attempt too. Birthday bursts go only towards IPs the
 * registry vouched for, a few at once.
 */
export class Punching {
  private readonly punches = new Map<string, PunchAttempt>();
  private readonly sideSockets = new Set<Socket>();
  readonly budget: PunchBudget;
  /** The registry query "who intends to reach us" in flight, and when the last one ended. */
  private askersQuery: Promise<void> | undefined;
  private askersAt = Number.NEGATIVE_INFINITY;
  /** Peer → when we last declared our birthday intent towards it. */
  private readonly intents = new Map<number, number>();

  constructor(private readonly ctx: TunnelContext) {
    this.budget = new PunchBudget(ctx.options.punchBudget);
  }

  /**
   * Classifies our NAT's mapping from the tunnel socket against the two `reflectors` (it decides our
   * role in birthday probing); undefined without reflectors or when they do not answer.
   */
  async classify(): Promise<NatMapping | undefined> {
    const ctx = this.ctx;
    const reflectors = ctx.reflectors;
    const socket = ctx.socket;
    if (reflectors === undefined || socket === undefined) return ctx.mapping;
    try {
      const result = await classifyNat(socket, reflectors);
      ctx.mapping = result.mapping;
      ctx.log('info', 'NAT classified', { mapping: result.mapping });
    } catch (error) {
      ctx.log('warn', 'NAT classification failed', { error: String(error) });
    }
    return ctx.mapping;
  }

  /** Whether birthday probing can happen at all here (mapping known, sockets allowed, the registry asked). */
  private get birthdayPossible(): boolean {
    const ctx = this.ctx;
    return (
      ctx.mapping !== undefined &&
      ctx.encrypt &&
      (ctx.options.birthdaySockets ?? 256) > 0 &&
      ctx.directory.birthday !== undefined
    );
  }

  /**
   * We asked the beacon to punch towards `nodeId` (known by `ips` when the registry said): its
   * command towards those IPs is ours. With birthday probing possible, our intent goes to the
   * registry too (at most every 10 s per peer), which vouches for the peer's IPs in return.
   */
  asked(nodeId: number, ips?: readonly string[]): void {
    const ctx = this.ctx;
    this.budget.asked(nodeId, ips);
    const birthday = ctx.directory.birthday;
    if (!this.birthdayPossible || birthday === undefined) return;
    const now = performance.now();
    const last = this.intents.get(nodeId);
    if (last !== undefined && now - last < INTENT_EVERY_MS) return;
    this.intents.set(nodeId, now);
    if (this.intents.size > 1024) {
      const oldest = this.intents.keys().next();
      if (oldest.done !== true) this.intents.delete(oldest.value);
    }
    birthday.call(ctx.directory, nodeId).then(
      (vouched) => this.budget.vouch(vouched),
      (error: unknown) =>
        ctx.log('debug', 'birthday intent failed', { node_id: nodeId, error: String(error) }),
    );
  }

  /** A punch command from the beacon (or someone spoofing it): what to send depends on who asked. */
  onPunchCommand(target: UdpAddress): void {
    const ctx = this.ctx;
    if (ctx.closed) return;
    ctx.count('punch_commands');
    // --transport tcp: no UDP paths are made, whoever asks.
    if (ctx.tlsPath.mode === 'tcp') return;
    const key = formatUdpAddress(target);
    const existing = this.punches.get(key);
    if (existing !== undefined && !existing.done) return;
    const decision = this.budget.command(target.address, this.punches.size);
    if (decision === 'attempt') this.startAttempt(key, target);
    else if (decision === 'answer') this.answer(target);
    this.syncCounters();
  }

  /** The reference's answer to a command: three PILPs (open our NAT for the requester; nothing more). */
  private answer(target: UdpAddress): void {
    const ctx = this.ctx;
    for (let i = 0; i < UNSOLICITED_PUNCHES; i++) ctx.sendRawTo(PUNCH_FRAME, target);
    this.budget.answered(UNSOLICITED_PUNCHES * PUNCH_FRAME.length);
    // A node the registry vouches for (its signed intent towards us, from this IP) gets the full
    // attempt: with a hard NAT on either side, only birthday probing finds a direct path.
    if (!this.birthdayPossible) return;
    void this.vouchedAsker(target.address).then((vouched) => {
      if (!vouched || ctx.closed) return;
      const key = formatUdpAddress(target);
      const existing = this.punches.get(key);
      if (existing !== undefined && !existing.done) return;
      if (this.punches.size >= this.budget.maxAttempts) {
        this.budget.counters.punchAttemptsRefused++;
        this.syncCounters();
        return;
      }
      ctx.count('punch_vouched');
      this.startAttempt(key, target);
    });
  }

  /**
   * Whether a node at `ip` declared to the registry that it will reach us: asks the registry at most
   * once a second whatever the commands, and once more a second later (the requester's intent may
   * reach the registry just after its punch request reached the beacon).
   */
  private async vouchedAsker(ip: string): Promise<boolean> {
    for (let round = 0; round < 2; round++) {
      if (this.budget.vouched(ip)) return true;
      if (round > 0) {
        const waited = await this.wait(ASKERS_QUERY_MS);
        if (!waited) return false;
      }
      await this.queryAskers();
      if (this.ctx.closed) return false;
    }
    return this.budget.vouched(ip);
  }

  private queryAskers(): Promise<void> {
    const ctx = this.ctx;
    const birthday = ctx.directory.birthday;
    if (birthday === undefined) return Promise.resolve();
    if (this.askersQuery !== undefined) return this.askersQuery;
    if (performance.now() - this.askersAt < ASKERS_QUERY_MS) return Promise.resolve();
    ctx.count('birthday_askers_queries');
    this.askersQuery = birthday
      .call(ctx.directory)
      .then(
        (ips) => this.budget.vouch(ips),
        (error: unknown) => ctx.log('debug', 'birthday askers query failed', { error: String(error) }),
      )
      .finally(() => {
        this.askersQuery = undefined;
        this.askersAt = performance.now();
      });
    return this.askersQuery;
  }

  /** Resolves true after `ms`, or false at once when closed (the timer is cleared at close). */
  private wait(ms: number): Promise<boolean> {
    const ctx = this.ctx;
    if (ctx.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        ctx.timers.delete(timer);
        resolve(!ctx.closed);
      }, ms);
      ctx.timers.add(timer);
    });
  }

  /** The full attempt: PILP and our PILA towards the endpoint for a while, birthday probing if nothing comes. */
  private startAttempt(key: string, target: UdpAddress): void {
    const ctx = this.ctx;
    const started = performance.now();
    const lifetime = Math.max(ctx.directTimeoutMs, BIRTHDAY_AFTER_MS + 1000);
    const attempt: PunchAttempt = {
      target,
      started,
      stopAt: started + lifetime,
      birthday: false,
      done: false,
      pilpAnswers: 0,
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
      // Only towards an IP the registry vouched for; the vouching may still be on its way.
      const vouched = this.budget.vouched(attempt.target.address);
      if (vouched || now - attempt.started >= BIRTHDAY_AFTER_MS + BIRTHDAY_VOUCH_WAIT_MS) {
        attempt.birthday = true;
        if (this.birthdayPossible) this.startBirthday(attempt);
      }
    }
  }

  /**
   * A PILP arrived directly. From the IP of a peer we punch towards, it is the peer's NAT opening a
   * mapping towards us (a symmetric NAT: a new port): our PILA goes back to that endpoint, so the
   * peer learns our path and answers (a few per attempt; PILPs from anyone else get nothing).
   */
  onPunchFrame(via: Via): void {
    const ctx = this.ctx;
    ctx.count('punch_received');
    if (via.kind !== 'direct' || this.punches.size === 0 || !ctx.encrypt) return;
    const ip = normalizeIp(via.from.address);
    for (const attempt of this.punches.values()) {
      if (attempt.done || normalizeIp(attempt.target.address) !== ip) continue;
      if (attempt.pilpAnswers >= PILP_ANSWERS_PER_ATTEMPT) return;
      attempt.pilpAnswers++;
      ctx.count('punch_answered');
      ctx.sendRawTo(ctx.keys.pilaFrame(), via.from);
      return;
    }
  }

  /** Mirrors the budget's counters into the tunnel stats. */
  private syncCounters(): void {
    const counters = this.budget.counters;
    for (const [name, stat] of Object.entries(COUNTER_STATS) as [keyof PunchBudgetCounters, string][])
      if (counters[name] > 0) this.ctx.stats[stat] = counters[name];
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
    const socket = ctx.socket;
    if (ctx.mapping === undefined || sockets <= 0 || socket === undefined || !ctx.encrypt) return;
    // Only towards an IP the registry vouched for, a few bursts at once, one per IP per interval.
    const slot = this.budget.startBirthday(attempt.target.address);
    this.syncCounters();
    if (!slot) return;
    const abort = new AbortController();
    ctx.aborts.add(abort);
    attempt.abort = abort;
    const timeoutMs = Math.max(2000, attempt.stopAt - performance.now() + 2000);
    const done = (): void => {
      ctx.aborts.delete(abort);
      this.budget.birthdayEnded();
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
      birthdayProbeEasy(socket, attempt.target.address, { timeoutMs, signal: abort.signal }).then(
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
      if (packet !== undefined) ctx.deliver(packet);
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
