/**
 * A clock that moves only when told to, for sans-IO code that takes `now` as an argument.
 * Times are milliseconds from an arbitrary origin.
 */
export class FakeClock {
  private current: number;

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  /** Moves forward by `ms` (never backwards). */
  advance(ms: number): number {
    if (ms > 0) this.current += ms;
    return this.current;
  }

  /** Moves to `time` if it is later than now. */
  advanceTo(time: number): number {
    if (time > this.current) this.current = time;
    return this.current;
  }
}
