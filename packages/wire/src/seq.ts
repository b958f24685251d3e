// Sequence and acknowledgment numbers are u32 byte offsets that wrap. They are compared with serial
// number arithmetic (RFC 1982), as the reference does: `a` is after `b` when (a - b), taken as a
// signed 32-bit integer, is positive. Two numbers exactly 2^31 apart compare as neither before nor
// after in RFC 1982; the int32 rule used here (and by the reference) calls the one 2^31 ahead
// "before", since int32(2^31) is negative. Callers never let their windows get near 2^31.

/** Signed distance from `b` to `a` (a - b) in -2^31..2^31-1: positive when `a` is after `b`. */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** True when `a` comes after `b` in sequence space. */
export function seqAfter(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

/** True when `a` comes before `b` in sequence space. */
export function seqBefore(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

/** True when `a` is after `b` or equal to it. */
export function seqAfterOrEqual(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

/** True when `a` is before `b` or equal to it. */
export function seqBeforeOrEqual(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}

/** `seq + n` modulo 2^32 (n may be negative), as an unsigned 32-bit number. */
export function seqAdd(seq: number, n: number): number {
  return (seq + n) >>> 0;
}

/** The later of `a` and `b` in sequence space. */
export function seqMax(a: number, b: number): number {
  return ((a - b) | 0) >= 0 ? a : b;
}

/** The earlier of `a` and `b` in sequence space. */
export function seqMin(a: number, b: number): number {
  return ((a - b) | 0) <= 0 ? a : b;
}
