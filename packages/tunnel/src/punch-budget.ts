import { KeyedLimiter, TokenBucket } from '@pilot/nat';
import { normalizeIp } from '@pilot/wire';

/**
 * What a punch command may make us send, and how many punches and birthday bursts run at once.
 *
 * A punch command is unauthenticated: anyone can make the beacon send one (a 9-byte punch request
 * naming us), or spoof one from the beacon's address. So a command is **solicited** only when we
 * asked the beacon to punch towards that IP a moment ago (our own `requestPunch`, with the IP the
 * registry gave for the peer); only then do we run the full attempt (PILP and our 136-byte PILA
 * every 150 ms for seconds, and birthday probing). Any other command gets what the reference sends:
 * three 4-byte PILPs, which open our NAT for the peer's own PILA (answered as any PILA is, one for
 * one) and nothing more. So an attacker gets at most 12 bytes of UDP payload (96 on the wire) per
 * 9-byte request (37 on the wire): ≤ 3×, as QUIC's anti-amplification limit, and those answers are
 * rate-limited per IP and overall as well.
 *
 * Birthday bursts (hundreds of sockets or probes) go only towards IPs the registry vouched for (the
 * `birthday` extension: a signed intent of either side), one burst per IP per interval and a few at
 * once, so file descriptors stay flat whatever the commands.
 */
export interface PunchBudgetOptions {
  /** Full punch attempts (ours, solicited) running at once. Default 8. */
  readonly maxAttempts?: number;
  /** Answers to unsolicited commands per second, per commanded IP. Default 1 (burst 3). */
  readonly unsolicitedPerIpPerSecond?: number;
  readonly unsolicitedPerIpBurst?: number;
  /** Answers to unsolicited commands per second in all. Default 20 (burst 40). */
  readonly unsolicitedPerSecond?: number;
  /** How long our punch request makes a command towards that IP solicited. Default 10 s. */
  readonly solicitWindowMs?: number;
  /** Birthday bursts running at once. Default 2. */
  readonly maxBirthdays?: number;
  /** A new birthday burst towards one IP at most this often. Default 15 s. */
  readonly birthdayPerIpMs?: number;
  /** How long an IP the registry vouched for stays usable for birthday probing. Default 30 s. */
  readonly vouchedMs?: number;
  readonly now?: () => number;
}

/** The budget's counters, shown by `pilotctl info` under the tunnel's stats and the budgets. */
export interface PunchBudgetCounters {
  /** Commands that matched a punch request of ours: the full attempt ran. */
  punchSolicited: number;
  /** Commands nobody here asked for, answered with three PILPs. */
  punchUnsolicited: number;
  /** Unsolicited commands dropped by the per-IP or global rate. */
  punchUnsolicitedRefused: number;
  /** Solicited commands dropped because `maxAttempts` attempts were running. */
  punchAttemptsRefused: number;
  /** Bytes of UDP payload sent in answer to unsolicited commands. */
  punchUnsolicitedBytes: number;
  /** Birthday bursts not started: the registry did not vouch for the IP (or could not be asked). */
  birthdayRefusedUnvouched: number;
  /** Birthday bursts not started: `maxBirthdays` running, or one towards that IP too recently. */
  birthdayRefusedBusy: number;
}

/** The reference's answer to a punch command: three PILPs. */
export const UNSOLICITED_PUNCHES = 3;
const TABLE_LIMIT = 1024;

export class PunchBudget {
  readonly counters: PunchBudgetCounters = {
    punchSolicited: 0,
    punchUnsolicited: 0,
    punchUnsolicitedRefused: 0,
    punchAttemptsRefused: 0,
    punchUnsolicitedBytes: 0,
    birthdayRefusedUnvouched: 0,
    birthdayRefusedBusy: 0,
  };
  readonly maxAttempts: number;
  readonly maxBirthdays: number;
  readonly #now: () => number;
  readonly #solicitWindowMs: number;
  readonly #birthdayPerIpMs: number;
  readonly #vouchedMs: number;
  readonly #perIp: KeyedLimiter<string>;
  readonly #global: TokenBucket;
  /** Peer → when we last asked the beacon to punch towards it, and the IPs it is known by (if any). */
  readonly #asked = new Map<number, { at: number; ips: ReadonlySet<string> | undefined }>();
  /** IP → until when the registry vouches for birthday probing towards it. */
  readonly #vouched = new Map<string, number>();
  /** IP → when the last birthday burst towards it started. */
  readonly #birthdays = new Map<string, number>();
  #runningBirthdays = 0;

  constructor(options: PunchBudgetOptions = {}) {
    this.#now = options.now ?? (() => performance.now());
    this.maxAttempts = options.maxAttempts ?? 8;
    this.maxBirthdays = options.maxBirthdays ?? 2;
    this.#solicitWindowMs = options.solicitWindowMs ?? 10_000;
    this.#birthdayPerIpMs = options.birthdayPerIpMs ?? 15_000;
    this.#vouchedMs = options.vouchedMs ?? 30_000;
    this.#perIp = new KeyedLimiter(
      options.unsolicitedPerIpPerSecond ?? 1,
      options.unsolicitedPerIpBurst ?? 3,
      TABLE_LIMIT,
    );
    const global = options.unsolicitedPerSecond ?? 20;
    this.#global = new TokenBucket(global, global * 2, this.#now());
  }

  /** We asked the beacon to punch towards `peer` (known by `ips` when the registry said). */
  asked(peer: number, ips?: readonly string[]): void {
    const known = ips?.map(normalizeIp).filter((ip) => ip !== '');
    // Asked again without IPs (the punch request goes out before the registry answers): keep the
    // IPs learned earlier for that peer.
    const previous = this.#asked.get(peer)?.ips;
    this.#asked.delete(peer);
    this.#asked.set(peer, {
      at: this.#now(),
      ips: known === undefined || known.length === 0 ? previous : new Set(known),
    });
    if (this.#asked.size > TABLE_LIMIT) {
      const oldest = this.#asked.keys().next();
      if (oldest.done !== true) this.#asked.delete(oldest.value);
    }
  }

  /** Whether a command towards `ip` answers a punch request of ours (asked recently, same IP). */
  solicited(ip: string): boolean {
    const now = this.#now();
    const target = normalizeIp(ip);
    for (const [peer, entry] of this.#asked) {
      if (now - entry.at >= this.#solicitWindowMs) {
        this.#asked.delete(peer);
        continue;
      }
      if (entry.ips === undefined || entry.ips.has(target)) return true;
    }
    return false;
  }

  /**
   * What to do with a punch command towards `ip`, with `running` full attempts in progress:
   * `attempt` (ours: the full attempt), `answer` (three PILPs), or `drop`. Counts it.
   */
  command(ip: string, running: number): 'attempt' | 'answer' | 'drop' {
    if (this.solicited(ip)) {
      if (running >= this.maxAttempts) {
        this.counters.punchAttemptsRefused++;
        return 'drop';
      }
      this.counters.punchSolicited++;
      return 'attempt';
    }
    const now = this.#now();
    if (!this.#perIp.take(normalizeIp(ip), 1, now) || !this.#global.take(1, now)) {
      this.counters.punchUnsolicitedRefused++;
      return 'drop';
    }
    this.counters.punchUnsolicited++;
    return 'answer';
  }

  /** Counts bytes sent in answer to an unsolicited command. */
  answered(bytes: number): void {
    this.counters.punchUnsolicitedBytes += bytes;
  }

  /** The registry vouched for birthday probing towards these IPs (a `birthday` reply). */
  vouch(ips: readonly string[]): void {
    const until = this.#now() + this.#vouchedMs;
    for (const ip of ips) {
      const plain = normalizeIp(ip);
      if (plain === '') continue;
      this.#vouched.delete(plain);
      this.#vouched.set(plain, until);
    }
    while (this.#vouched.size > TABLE_LIMIT) {
      const oldest = this.#vouched.keys().next();
      if (oldest.done === true) break;
      this.#vouched.delete(oldest.value);
    }
  }

  /** Whether the registry vouched for `ip` recently. */
  vouched(ip: string): boolean {
    const until = this.#vouched.get(normalizeIp(ip));
    return until !== undefined && until > this.#now();
  }

  /**
   * Takes a birthday slot towards `ip` (call `birthdayEnded` when the burst ends); false, counted,
   * when the IP is not vouched for, too many bursts run, or one towards it started too recently.
   */
  startBirthday(ip: string): boolean {
    const plain = normalizeIp(ip);
    if (!this.vouched(plain)) {
      this.counters.birthdayRefusedUnvouched++;
      return false;
    }
    const now = this.#now();
    const last = this.#birthdays.get(plain);
    if (
      this.#runningBirthdays >= this.maxBirthdays ||
      (last !== undefined && now - last < this.#birthdayPerIpMs)
    ) {
      this.counters.birthdayRefusedBusy++;
      return false;
    }
    for (const [key, at] of this.#birthdays)
      if (now - at >= this.#birthdayPerIpMs) this.#birthdays.delete(key);
    this.#birthdays.set(plain, now);
    this.#runningBirthdays++;
    return true;
  }

  birthdayEnded(): void {
    this.#runningBirthdays = Math.max(0, this.#runningBirthdays - 1);
  }

  /** Birthday bursts running now. */
  get birthdaysRunning(): number {
    return this.#runningBirthdays;
  }
}
